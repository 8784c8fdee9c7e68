//! The binary itself, serving as a child process.

use serde_json::Value;

/// The binary serving as a child process, its JSON log read line by line as it comes.
/// Killed when dropped.
pub struct ChildServer {
    child: std::process::Child,
    pub address: String,
    lines: std::sync::mpsc::Receiver<String>,
    /// The log events read so far.
    pub log: Vec<Value>,
}

impl ChildServer {
    /// Starts `command` (see `cli::command`) and reads its log until it says where it serves.
    pub fn start(command: &mut std::process::Command) -> Self {
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            address: String::new(),
            lines,
            log: Vec::new(),
        };
        let serving = server.wait_for_log("serving");
        server.address = format!("http://{}", serving["address"].as_str().unwrap());
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `host:port` it listens on.
    pub fn socket_address(&self) -> &str {
        self.address.trim_start_matches("http://")
    }

    /// Reads the log until an event whose message starts with `message`, and returns it.
    /// Panics after 30 s or when the process's output ends first.
    pub fn wait_for_log(&mut self, message: &str) -> Value {
        self.wait_for(message, |event| {
            event["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(message))
        })
    }

    /// Reads the log until an event that `matches` (`what` names it in the panic message
    /// after 30 s, or when the process's output ends first), and returns it.
    pub fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        loop {
            let line = self
                .lines
                .recv_timeout(std::time::Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("no log event {what:?} ({e}): {:#?}", self.log));
            let event: Value = serde_json::from_str(&line).unwrap_or(Value::String(line));
            self.log.push(event.clone());
            if matches(&event) {
                return event;
            }
        }
    }

    /// Sends SIGTERM, as an orchestrator stopping the service does.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM");
    }

    /// Reads the rest of the log until the process closes its output (it exits), within
    /// 30 s, and returns how it exited.
    pub fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        loop {
            match self.lines.recv_timeout(std::time::Duration::from_secs(30)) {
                Ok(line) => self
                    .log
                    .push(serde_json::from_str(&line).unwrap_or(Value::String(line))),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                Err(e) => panic!("the process did not exit ({e}): {:#?}", self.log),
            }
        }
        self.child.wait().expect("the process exits")
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
