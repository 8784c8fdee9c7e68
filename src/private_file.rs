//! Files only their owner may read: the development secrets the service generates for
//! itself (the JWT secret, the credentials' signing key).

use std::{io::Write, path::Path};

use anyhow::Context;

/// Writes `contents` to a new file at `path` (creating its folder), readable by its owner
/// only. `Ok(false)`, with nothing written, when the file exists already: another process
/// made it first, and its contents are the ones to use.
pub fn create_new(path: &Path, contents: &[u8]) -> anyhow::Result<bool> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating {}", folder.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(contents)
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("writing {}", path.display())),
    }
}
