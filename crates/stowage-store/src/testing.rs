//! A real PostgreSQL server for tests and benchmarks: Debian's `postgresql` binaries run on a temporary
//! directory and a free loopback port, as user `nobody` when the tests run as root (initdb and postgres
//! refuse root), stopped when dropped. `STOWAGE_PG_BIN` names the binaries' directory when they are not
//! under `/usr/lib/postgresql/<version>/bin`.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Debian's `nobody`/`nogroup`.
const NOBODY: u32 = 65534;

pub struct TestPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    running: bool,
    durable: bool,
    tls: bool,
}

/// A PostgreSQL program (`pg_dump`, `psql`, …) from the installed server's binaries.
pub fn program(name: &str) -> PathBuf {
    binaries().join(name)
}

fn binaries() -> PathBuf {
    installed_binaries()
        .unwrap_or_else(|| panic!("PostgreSQL is not installed: `apt-get install postgresql` (./test.sh does), or set STOWAGE_PG_BIN"))
}

fn installed_binaries() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("STOWAGE_PG_BIN") {
        return Some(PathBuf::from(dir)).filter(|d| d.join("initdb").exists());
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|p| p.join("initdb").exists()).collect())
        .unwrap_or_default();
    versions.sort();
    versions.pop()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl TestPostgres {
    /// A server tuned for test speed (no fsync): data survives its clean stops and restarts, not a crash
    /// of the machine.
    pub fn start() -> Self {
        Self::launch(false)
    }

    /// `start`, or `None` with a message on a developer's machine without PostgreSQL, so the test that
    /// asked can skip itself. Where `STOWAGE_REQUIRE_POSTGRES` is set (./test.sh and CI set it), a missing
    /// PostgreSQL is a failure, never a skip.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        if installed_binaries().is_none() && std::env::var_os("STOWAGE_REQUIRE_POSTGRES").is_none() {
            eprintln!("{test}: skipped, PostgreSQL is not installed (`apt-get install postgresql`, or run ./test.sh)");
            return None;
        }
        Some(Self::start())
    }

    /// A server with PostgreSQL's durable defaults (fsync on every commit), for benchmarks.
    pub fn start_durable() -> Self {
        Self::launch(true)
    }

    fn launch(durable: bool) -> Self {
        let bin = binaries();
        let dir = tempfile::Builder::new().prefix("stowage-pg-").tempdir().unwrap();
        if as_root() {
            std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let pg = TestPostgres { dir, bin, port: free_port(), running: false, durable, tls: false };
        let data = pg.data();
        let status = pg
            .command("initdb")
            .args(["-D", data.to_str().unwrap(), "-U", "stowage", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed");
        let mut pg = pg;
        pg.resume();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if as_root() {
            command.uid(NOBODY).gid(NOBODY);
        }
        command.current_dir(self.dir.path());
        command
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://stowage@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let status = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "stowage", name])
            .status()
            .unwrap();
        assert!(status.success(), "createdb {name} failed");
        self.url(name)
    }

    /// Stops the server (fast shutdown: open connections are cut, committed data stays).
    pub fn stop(&mut self) {
        let data = self.data();
        let status =
            self.command("pg_ctl").args(["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"]).stdout(Stdio::null()).status().unwrap();
        assert!(status.success(), "pg_ctl stop failed");
        self.running = false;
    }

    /// Starts the server again on the same data and port.
    pub fn resume(&mut self) {
        let data = self.data();
        let log = self.dir.path().join("postgres.log");
        let mut options = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300", self.port, self.dir.path().display());
        if !self.durable {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        if self.tls {
            let dir = self.dir.path().display();
            options.push_str(&format!(" -c ssl=on -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key"));
        }
        let status = self
            .command("pg_ctl")
            .args(["-D", data.to_str().unwrap(), "-l", log.to_str().unwrap(), "-o", &options, "-w", "start"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl start failed; see {}", log.display());
        self.running = true;
    }

    /// Serves TLS from now on with this certificate (chain) and key, both PEM; restarts the server.
    pub fn enable_tls(&mut self, cert_pem: &str, key_pem: &str) {
        use std::os::unix::fs::PermissionsExt;
        for (name, pem) in [("server.crt", cert_pem), ("server.key", key_pem)] {
            let path = self.dir.path().join(name);
            std::fs::write(&path, pem).unwrap();
            // PostgreSQL refuses a key file others can read, or owned by another user.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            if as_root() {
                std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
            }
        }
        self.tls = true;
        self.stop();
        self.resume();
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        if self.running {
            let data = self.data();
            let _ = self
                .command("pg_ctl")
                .args(["-D", data.to_str().unwrap_or(""), "-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .status();
        }
    }
}

/// With `STOWAGE_TEST_PG` set to a running server's URL (`postgres://USER@HOST:PORT/DB`, as ./test.sh sets for
/// its pass against PostgreSQL), a new database there for one test server; None otherwise.
pub fn database_from_env() -> Option<String> {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let base = std::env::var("STOWAGE_TEST_PG").ok()?;
    let (server, _) = base.rsplit_once('/')?;
    let (user, address) = server.strip_prefix("postgres://")?.split_once('@')?;
    let (host, port) = address.split_once(':')?;
    let name = format!("t{}_{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let status = Command::new(binaries().join("createdb")).args(["-h", host, "-p", port, "-U", user, &name]).status().ok()?;
    assert!(status.success(), "createdb {name} failed");
    Some(format!("{server}/{name}"))
}

fn as_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}
