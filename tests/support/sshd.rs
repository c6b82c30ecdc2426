//! A real OpenSSH server on 127.0.0.1, with its own host key, one authorized client
//! key and a port of its own; stopped when dropped.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct Sshd {
    pub port: u16,
    /// The client's private key (the config's `ssh_key`).
    pub client_key: PathBuf,
    /// A known_hosts file pinning the server's host key.
    pub known_hosts: PathBuf,
    /// An ssh_config naming the server `backuphost` (the config's `ssh_config`).
    pub client_config: PathBuf,
    child: Child,
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "backup-server-test",
            "-f",
        ])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
}

impl Sshd {
    /// Starts sshd with its files under `dir`, accepting root with the client key.
    pub fn start(dir: &Path) -> Sshd {
        fs::create_dir_all(dir).unwrap();
        // sshd refuses to start without its privilege-separation directory.
        fs::create_dir_all("/run/sshd").unwrap();
        let host_key = dir.join("host_key");
        let client_key = dir.join("client_key");
        keygen(&host_key);
        keygen(&client_key);
        let authorized = dir.join("authorized_keys");
        fs::copy(dir.join("client_key.pub"), &authorized).unwrap();

        let port = super::free_port();
        let config = dir.join("sshd_config");
        fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nPidFile {}\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 UsePAM no\nStrictModes no\nLogLevel ERROR\n",
                host_key.display(),
                authorized.display(),
                dir.join("sshd.pid").display()
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null()) // a lingering session must not hold the test's stdout
            .stderr(fs::File::create(dir.join("sshd.log")).unwrap())
            .spawn()
            .expect("sshd starts (apt-get install openssh-server)");

        let host_pub = fs::read_to_string(dir.join("host_key.pub")).unwrap();
        let mut words = host_pub.split_whitespace();
        let (kind, key) = (words.next().unwrap(), words.next().unwrap());
        let known_hosts = dir.join("known_hosts");
        fs::write(&known_hosts, format!("[127.0.0.1]:{port} {kind} {key}\n")).unwrap();
        let client_config = dir.join("ssh_config");
        fs::write(
            &client_config,
            format!("Host backuphost\n  HostName 127.0.0.1\n  Port {port}\n"),
        )
        .unwrap();

        super::wait_for_port(port, "sshd", &dir.join("sshd.log"));
        Sshd {
            port,
            client_key,
            known_hosts,
            client_config,
            child,
        }
    }

    /// The config lines that point backup-server at this server.
    pub fn config_lines(&self) -> String {
        format!(
            "ssh_key: {}\nssh_known_hosts: {}\nssh_config: {}\n",
            self.client_key.display(),
            self.known_hosts.display(),
            self.client_config.display()
        )
    }

    /// Pins some other key for this server in its known_hosts (a key made under
    /// `dir`), as if the server had been replaced: every connection must refuse it.
    pub fn pin_another_host_key(&self, dir: &Path) {
        fs::create_dir_all(dir).unwrap();
        keygen(&dir.join("k"));
        let other_pub = fs::read_to_string(dir.join("k.pub")).unwrap();
        let key: Vec<&str> = other_pub.split_whitespace().take(2).collect();
        fs::write(
            &self.known_hosts,
            format!("[127.0.0.1]:{} {} {}\n", self.port, key[0], key[1]),
        )
        .unwrap();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The login shell of a target user: what parses every command backup-server sends
/// over SSH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginShell {
    Bash,
    /// Debian's `dash`: what `useradd` gives by default (`/bin/sh`).
    Dash,
    /// busybox `ash`, as on NAS appliances: a link named `ash` to `/bin/busybox`.
    BusyboxAsh,
}

/// Where the `ash` link to busybox is made: busybox picks its applet by that name.
const ASH_LINK: &str = "/usr/local/libexec/backup-server-tests/ash";

impl LoginShell {
    fn path(self) -> &'static str {
        match self {
            LoginShell::Bash => "/bin/bash",
            LoginShell::Dash => "/bin/dash",
            LoginShell::BusyboxAsh => ASH_LINK,
        }
    }

    fn user_name(self) -> &'static str {
        match self {
            LoginShell::Bash => "bsrv-bash",
            LoginShell::Dash => "bsrv-dash",
            LoginShell::BusyboxAsh => "bsrv-ash",
        }
    }
}

/// A non-root account on this machine that logs in to [`Sshd`] with the client key.
#[derive(Clone, Debug)]
pub struct TargetUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub shell: LoginShell,
}

/// The account whose login shell is `shell`, created on first use (and kept: the
/// machine is the test's). Its password field is `*`, not `!`: sshd without PAM
/// refuses even key logins to a locked account.
pub fn target_user(shell: LoginShell) -> TargetUser {
    static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = CREATING.lock().unwrap_or_else(|e| e.into_inner());
    if shell == LoginShell::BusyboxAsh && fs::symlink_metadata(ASH_LINK).is_err() {
        let link = Path::new(ASH_LINK);
        fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink("/bin/busybox", link)
            .expect("busybox is installed (apt-get install busybox)");
    }
    assert!(
        Path::new(shell.path()).exists(),
        "{} is missing (apt-get install dash busybox)",
        shell.path()
    );
    let name = shell.user_name();
    let exists = Command::new("id")
        .args(["-u", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    let status = if exists {
        Command::new("usermod")
            .args(["--shell", shell.path(), "--password", "*", name])
            .status()
    } else {
        Command::new("useradd")
            .args(["--create-home", "--shell", shell.path(), "--password", "*"])
            .arg(name)
            .status()
    };
    assert!(status.unwrap().success(), "cannot set up the user {name}");
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, name]).output().unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    TargetUser {
        name: name.to_string(),
        uid: id("-u"),
        gid: id("-g"),
        shell,
    }
}

/// Points `world` at `dir_backup_remote` `user@backuphost:<world.remote>` on `sshd`,
/// with `world.remote` owned by `user` and the world's root open to it.
pub fn use_ssh_target(world: &mut super::World, sshd: &Sshd, user: &TargetUser) {
    use std::os::unix::fs::PermissionsExt;
    world.remote_spec = format!("{}@backuphost:{}", user.name, world.remote.display());
    if !world.extra.contains(&sshd.config_lines()) {
        world.extra = format!("{}{}", sshd.config_lines(), world.extra);
    }
    fs::set_permissions(world.root.path(), fs::Permissions::from_mode(0o755)).unwrap();
    chown_tree(&world.remote, user.uid, user.gid);
}

/// `chown -R uid:gid path`, symlinks themselves rather than what they point at.
pub fn chown_tree(path: &Path, uid: u32, gid: u32) {
    let status = Command::new("chown")
        .args(["-R", "-h", &format!("{uid}:{gid}")])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "chown {}", path.display());
}

/// The program that runs as `user`'s login shell when sshd runs a command for it
/// (`readlink /proc/$$/exe; exit 0`, asked over SSH): proof that a test reaches the shell it
/// names.
pub fn login_shell_program(sshd: &Sshd, user: &TargetUser) -> String {
    let out = Command::new("ssh")
        .arg("-F")
        .arg(&sshd.client_config)
        .arg("-i")
        .arg(&sshd.client_key)
        .args(["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", sshd.known_hosts.display()))
        .arg(format!("{}@backuphost", user.name))
        .arg("readlink /proc/$$/exe; exit 0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh as {}: {}",
        user.name,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
