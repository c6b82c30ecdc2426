# Checks that flake.lock is well-formed and pins what flake.nix asks for: the same
# inputs, each locked to a GitHub revision of the repository and branch flake.nix
# names, with the `follows` flake.nix declares. Builtins only.
# nix-instantiate --eval --strict tests/nix/flake-lock.nix   →   true, or an error.
let
  flake = import ../../flake.nix;
  lock = builtins.fromJSON (builtins.readFile ../../flake.lock);
  inherit (builtins)
    all
    attrNames
    elemAt
    match
    ;
  fail = message: throw "flake.lock: ${message}";
  urlOf = input: if builtins.isString input then input else input.url;
  parse =
    url:
    let
      m = match "github:([^/]+)/([^/]+)(/(.+))?" url;
    in
    if m == null then
      fail "only github: inputs are checked, not ${url}"
    else
      {
        owner = elemAt m 0;
        repo = elemAt m 1;
        ref = elemAt m 3;
      };
  checkInput =
    name:
    let
      wanted = parse (urlOf flake.inputs.${name});
      node = lock.nodes.${lock.nodes.root.inputs.${name} or (fail "input ${name} is not locked")};
      original = node.original;
      locked = node.locked;
      follows = if builtins.isAttrs flake.inputs.${name} then flake.inputs.${name}.inputs or { } else { };
      followsOk = all (
        dep: (node.inputs.${dep} or null) == [ follows.${dep}.follows ]
      ) (attrNames follows);
    in
    if original.type != "github" || original.owner != wanted.owner || original.repo != wanted.repo then
      fail "${name} is locked from ${original.owner}/${original.repo}, flake.nix asks for ${wanted.owner}/${wanted.repo}"
    else if (original.ref or null) != wanted.ref then
      fail "${name} is locked at ref ${toString (original.ref or "none")}, flake.nix asks for ${toString wanted.ref}"
    else if match "[0-9a-f]{40}" locked.rev == null then
      fail "${name} has no full git revision"
    else if match "sha256-[A-Za-z0-9+/]{43}=" locked.narHash == null then
      fail "${name} has no sha256 narHash"
    else if !(builtins.isInt locked.lastModified) || locked.owner != wanted.owner || locked.repo != wanted.repo then
      fail "${name}'s locked entry does not match its original"
    else if !followsOk then
      fail "${name} does not follow what flake.nix says"
    else
      true;
  names = attrNames flake.inputs;
in
if lock.version != 7 then
  fail "version ${toString lock.version}, expected 7"
else if attrNames lock.nodes.root.inputs != names then
  fail "locks inputs ${toString (attrNames lock.nodes.root.inputs)}, flake.nix has ${toString names}"
else
  all checkInput names
