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
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
