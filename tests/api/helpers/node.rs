//! The npm tools pinned under `.ci/<name>` (`package.json` and `package-lock.json`), which
//! `.ci/run` installs with `npm ci`: a published parser or verifier checks what the service
//! serves.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// `.ci/<name>`, when node runs and `package` is installed there; otherwise `None`, loudly,
/// and with `CI=true` a failure instead, as `.ci/run` installs it. `what` names the tool.
pub fn ci_node_tool(name: &str, package: &str, what: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci").join(name);
    let node = Command::new("node").arg("--version").output();
    let ready = node.is_ok_and(|out| out.status.success())
        && dir.join("node_modules").join(package).is_dir();
    if ready {
        return Some(dir);
    }
    let install = format!("npm ci --prefix {}", dir.display());
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and {what} is not installed (node, then `{install}`)");
    }
    eprintln!("SKIPPED: {what} is not installed; run `{install}`");
    None
}
