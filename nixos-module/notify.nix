# services.backupServer.notify: pings when a run starts and ends, so that a run that
# never happens is noticed (a healthchecks.io check alerts when its ping does not come),
# a failure reaches the phone (ntfy), and anything else can listen (a webhook).
#
# The options become the `notify` part of backup_config.yml (through
# services.backupServer.settings, which merges). A URL or token that is a secret is
# given as the file holding it, as a string (a Nix path literal is refused: it would
# copy the secret into the world-readable store), and reaches the service only through
# systemd's LoadCredential, as the Gmail password does.
{
  config,
  lib,
  ...
}:
let
  inherit (lib) mkIf mkMerge mkOption optional optionalAttrs types;
  inherit (import ./options.nix { inherit lib; }) mkNullOrOption mkSecretFileOption;
  cfg = config.services.backupServer;
  ncfg = cfg.notify;
  credential = name: "/run/credentials/backup-server.service/${name}";

  secretFile =
    example: what:
    mkSecretFileOption {
      inherit example;
      description = ''
        The file holding ${what}, as a string (sops-nix, agenix or a root-only file). It
        reaches the service through LoadCredential and never enters the store; a Nix path
        literal is refused, because Nix would copy the secret into the world-readable store.
      '';
    };
  publicUrl =
    example: what:
    mkNullOrOption (types.strMatching "https?://[^/?#@ ]+([/?#][^ ]*)?") {
      inherit example;
      description = ''
        ${what}, written into backup_config.yml and the store: only for a URL that is no
        secret. Otherwise give the file holding it (the `urlFile` option beside this one).
      '';
    };

  healthchecksOn = ncfg.healthchecks.urlFile != null;
  ntfyOn = ncfg.ntfy.url != null || ncfg.ntfy.urlFile != null;
  webhookOn = ncfg.webhook.url != null || ncfg.webhook.urlFile != null;
  anyOn = healthchecksOn || ntfyOn || webhookOn;

  urlOf =
    channel: name:
    if channel.url != null then { inherit (channel) url; } else { url_file = credential name; };
  rendered = {
    timeout_secs = ncfg.timeoutSecs;
  }
  // optionalAttrs (ncfg.caFile != null) { ca_file = ncfg.caFile; }
  // optionalAttrs healthchecksOn { healthchecks.url_file = credential "healthchecks-url"; }
  // optionalAttrs ntfyOn {
    ntfy =
      urlOf ncfg.ntfy "ntfy-url"
      // optionalAttrs (ncfg.ntfy.tokenFile != null) { token_file = credential "ntfy-token"; }
      // {
        inherit (ncfg.ntfy) on priority tags;
      };
  }
  // optionalAttrs webhookOn {
    webhook =
      urlOf ncfg.webhook "webhook-url"
      // optionalAttrs (ncfg.webhook.headersFile != null) {
        headers_file = credential "webhook-headers";
      };
  };
  credentials =
    optional healthchecksOn "healthchecks-url:${ncfg.healthchecks.urlFile}"
    ++ optional (ntfyOn && ncfg.ntfy.urlFile != null) "ntfy-url:${ncfg.ntfy.urlFile}"
    ++ optional (ntfyOn && ncfg.ntfy.tokenFile != null) "ntfy-token:${ncfg.ntfy.tokenFile}"
    ++ optional (webhookOn && ncfg.webhook.urlFile != null) "webhook-url:${ncfg.webhook.urlFile}"
    ++ optional (
      webhookOn && ncfg.webhook.headersFile != null
    ) "webhook-headers:${ncfg.webhook.headersFile}";
in
{
  options.services.backupServer.notify = {
    timeoutSecs = mkOption {
      type = types.ints.between 1 300;
      default = 10;
      example = 30;
      description = "Seconds a ping may take, connecting included; a ping is tried three times at most (1 s and 3 s apart).";
    };
    caFile = mkNullOrOption types.path {
      example = "/etc/ssl/certs/home-ca.pem";
      description = "An extra trusted root for a self-hosted ping service (certificates are always verified).";
    };

    healthchecks.urlFile = secretFile "/run/secrets/backup-server/healthchecks-url" ''
      a healthchecks.io ping URL (`https://hc-ping.com/<uuid>`, or a self-hosted
      Healthchecks'). Each run pings `<url>/start`, then `<url>` or `<url>/fail` with the
      failed steps' log tails; when no ping comes in the check's period and grace time, the
      service alerts: a run that never happened is noticed
    '';

    ntfy = {
      url = publicUrl "https://ntfy.sh/my-nas-backups" "The ntfy topic URL";
      urlFile = secretFile "/run/secrets/backup-server/ntfy-url" "the ntfy topic URL (anyone who knows a topic on ntfy.sh can read it)";
      tokenFile = secretFile "/run/secrets/backup-server/ntfy-token" "an ntfy access token (`tk_...`) for a protected topic";
      on = mkOption {
        type = types.nonEmptyListOf (
          types.enum [
            "start"
            "success"
            "failure"
            "recovery"
          ]
        );
        default = [
          "failure"
          "recovery"
        ];
        example = [
          "failure"
          "recovery"
          "success"
        ];
        description = "Which events send a message: a failure; a recovery (a task that was failing, stale or had never succeeded succeeded); every success; every start.";
      };
      priority = mkOption {
        type = types.enum [
          "min"
          "low"
          "default"
          "high"
          "max"
          "urgent"
        ];
        default = "high";
        example = "urgent";
        description = "The priority of a failure's message (a recovery's is `default`, a start's and a success's `low`).";
      };
      tags = mkOption {
        type = types.listOf (types.strMatching "[A-Za-z0-9_+-]{1,64}");
        default = [ ];
        example = [ "floppy_disk" ];
        description = "ntfy tags added to every message (an emoji short code shows as the emoji).";
      };
    };

    webhook = {
      url = publicUrl "https://automation.lan/hooks/backup" "The webhook's URL; it receives the run as JSON when it ends";
      urlFile = secretFile "/run/secrets/backup-server/webhook-url" "the webhook's URL";
      headersFile = secretFile "/run/secrets/backup-server/webhook-headers" "`Name: value` lines sent as headers with the webhook (an `Authorization` one, say)";
    };
  };

  config = mkIf cfg.enable (mkMerge [
    {
      assertions = [
        {
          assertion = ncfg.ntfy.url == null || ncfg.ntfy.urlFile == null;
          message = "services.backupServer.notify.ntfy: set url or urlFile, not both.";
        }
        {
          assertion = ntfyOn || ncfg.ntfy.tokenFile == null;
          message = "services.backupServer.notify.ntfy.tokenFile needs notify.ntfy.url or notify.ntfy.urlFile.";
        }
        {
          assertion = ncfg.webhook.url == null || ncfg.webhook.urlFile == null;
          message = "services.backupServer.notify.webhook: set url or urlFile, not both.";
        }
        {
          assertion = webhookOn || ncfg.webhook.headersFile == null;
          message = "services.backupServer.notify.webhook.headersFile needs notify.webhook.url or notify.webhook.urlFile.";
        }
      ];
    }
    (mkIf anyOn {
      services.backupServer.settings.notify = rendered;
      systemd.services.backup-server.serviceConfig.LoadCredential = credentials;
    })
  ]);
}
