# A schedule of backup-server's, the nightly run's and the verify's: the three options
# that say when (OnCalendar=, RandomizedDelaySec=, Persistent=) and the timer unit they
# make, declared once so that both schedules read and render alike.
{ lib }:
let
  inherit (lib) mkOption types;
  inherit (import ./options.nix { inherit lib; }) mkBoolOption;
in
{
  # The options `schedule`, `randomizedDelaySec` and `persistent`: `default` and `example`
  # are the schedule's, `description` says what it is, `what` names what starts ("Run").
  options =
    {
      default,
      example,
      description,
      what,
    }:
    {
      schedule = mkOption {
        type = types.str;
        inherit default example description;
      };
      randomizedDelaySec = mkOption {
        type = types.str;
        default = "30m";
        example = "0";
        description = "A random delay added to each start (systemd RandomizedDelaySec).";
      };
      persistent = mkBoolOption true "${what} at boot when the machine was off at the scheduled time.";
    };

  # systemd.timers.<name> for a schedule's options (cfg: where they are set).
  unit = description: cfg: {
    inherit description;
    wantedBy = [ "timers.target" ];
    timerConfig = {
      OnCalendar = cfg.schedule;
      RandomizedDelaySec = cfg.randomizedDelaySec;
      Persistent = cfg.persistent;
    };
  };
}
