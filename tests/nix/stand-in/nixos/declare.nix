# The one shape of the stand-in's declarations: an option of a type, with its default or
# with none, and a line saying what it is. As strict as NixOS's own: the type checks every
# definition, an option without a default must be defined before it is read, and one that
# is not declared does not exist. (NixOS's have examples and longer descriptions; the
# stand-in's need only what evaluation checks.)
lib: {
  # option TYPE DEFAULT DESCRIPTION
  option =
    type: default: description:
    lib.mkOption { inherit type default description; };
  # required TYPE DESCRIPTION: no default.
  required = type: description: lib.mkOption { inherit type description; };
}
