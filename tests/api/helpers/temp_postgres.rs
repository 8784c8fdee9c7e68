//! A PostgreSQL server of the test's own, for the tests that stop and start one.

use std::path::PathBuf;

use tempfile::TempDir;

/// A PostgreSQL server of the test's own, to stop and start at will: a cluster initialised
/// into a temporary folder, listening on 127.0.0.1 at a port of its own, its socket in that
/// folder. Stopped when dropped.
pub struct TempPostgres {
    bin: PathBuf,
    dir: TempDir,
    port: u16,
    running: bool,
}

impl TempPostgres {
    /// Initialises a cluster (not started). `None`, loudly, when PostgreSQL's server programs
    /// are not installed; with `CI=true` that fails the test instead.
    pub fn init() -> Option<Self> {
        let Some(bin) = postgres_bin_dir() else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true and no PostgreSQL server programs under /usr/lib/postgresql");
            }
            eprintln!("SKIPPED: no initdb under /usr/lib/postgresql; set PG_BIN_DIR");
            return None;
        };
        let dir = tempfile::tempdir().expect("temporary folder");
        let server = Self {
            bin,
            dir,
            port: free_port(),
            running: false,
        };
        if as_root() {
            // initdb refuses to run as root: the cluster belongs to the `postgres` user.
            let status = std::process::Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(server.dir.path())
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown of the cluster folder to postgres");
        }
        server.pg(
            "initdb",
            &[
                "-D",
                &server.data().display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        Some(server)
    }

    /// Initialises a cluster and starts it.
    pub fn start_new() -> Option<Self> {
        let mut server = Self::init()?;
        server.start();
        Some(server)
    }

    /// `postgres://` URL of the server's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&mut self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        let data = self.data().display().to_string();
        self.pg(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        );
        self.running = true;
    }

    /// Stops the server (`fast`: open connections are terminated) and waits until it has.
    pub fn stop(&mut self) {
        let data = self.data().display().to_string();
        self.pg(
            "pg_ctl",
            &["-D", &data, "-m", "fast", "-w", "-t", "60", "stop"],
        );
        self.running = false;
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of the server programs, as `postgres` when this process is root.
    fn pg(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = if as_root() {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            std::process::Command::new(&program)
        };
        let output = command
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{} runs: {e}", program.display()));
        assert!(
            output.status.success(),
            "{} {args:?} failed: {}\n{}\n{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
        );
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        if self.running {
            let data = self.data().display().to_string();
            let mut command = if as_root() {
                let mut command = std::process::Command::new("runuser");
                command
                    .args(["-u", "postgres", "--"])
                    .arg(self.bin.join("pg_ctl"));
                command
            } else {
                std::process::Command::new(self.bin.join("pg_ctl"))
            };
            let _ = command
                .args(["-D", &data, "-m", "fast", "-w", "-t", "60", "stop"])
                .output();
        }
    }
}

/// The newest installed PostgreSQL's server programs (`PG_BIN_DIR` overrides).
fn postgres_bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN_DIR") {
        return Some(PathBuf::from(dir));
    }
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

/// Whether this process runs as root (`id -u` is 0).
fn as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A free TCP port below the kernel's ephemeral range, so that no socket the kernel numbers
/// (a listener on port 0, a client's end of a connection) takes it while the server is down.
fn free_port() -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .filter(|&low| low > 2048)
        .unwrap_or(32768);
    for _ in 0..1000 {
        let port = rand::random_range(ephemeral_low / 2..ephemeral_low);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below {ephemeral_low}");
}
