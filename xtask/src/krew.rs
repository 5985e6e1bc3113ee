//! The `kubectl tcptop` plugin as krew distributes it: a .tar.gz holding the
//! `kubectl-tcptop` executable, and a plugin manifest rendered from the template in
//! `deploy/krew/tcptop.yaml` with the archive's URI and SHA-256.
use anyhow::{bail, Result};
use flate2::{Compression, GzBuilder};

/// A deterministic .tar.gz with `kubectl-tcptop` (mode 0755, time 0) at its root.
pub fn archive(plugin: &[u8]) -> Result<Vec<u8>> {
    tar_gz(&[("kubectl-tcptop", plugin, 0o755)])
}

/// A reproducible gzipped tar of `files` (path, contents, mode): every time and owner 0.
pub fn tar_gz(files: &[(&str, &[u8], u32)]) -> Result<Vec<u8>> {
    let gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::best());
    let mut tar = tar::Builder::new(gz);
    for (path, data, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(*mode);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, path, *data)?;
    }
    Ok(tar.into_inner()?.finish()?)
}

/// Fills the template's `{{VERSION}}`, `{{URI}}` and `{{SHA256}}`, dropping its
/// leading comment (which is about the template). Fails if a placeholder is left.
pub fn render(template: &str, version: &str, uri: &str, sha256: &str) -> Result<String> {
    let body: String = template
        .lines()
        .skip_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let out = body
        .replace("{{VERSION}}", version)
        .replace("{{URI}}", uri)
        .replace("{{SHA256}}", sha256);
    if let Some(at) = out.find("{{") {
        let rest: String = out[at..].chars().take(30).collect();
        bail!("krew template has an unknown placeholder at {rest}");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn archive_holds_the_executable_and_is_deterministic() {
        let a = archive(b"#!/bin/true\n").unwrap();
        assert_eq!(a, archive(b"#!/bin/true\n").unwrap());
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&a[..]));
        let mut entries = tar.entries().unwrap();
        let mut e = entries.next().unwrap().unwrap();
        assert_eq!(e.path().unwrap().to_str(), Some("kubectl-tcptop"));
        assert_eq!(e.header().mode().unwrap(), 0o755);
        let mut body = String::new();
        e.read_to_string(&mut body).unwrap();
        assert_eq!(body, "#!/bin/true\n");
        assert!(entries.next().is_none());
    }

    #[test]
    fn renders_the_real_template() {
        let template =
            std::fs::read_to_string(crate::dist::workspace().join("deploy/krew/tcptop.yaml"))
                .unwrap();
        let out = render(&template, "1.2.3", "https://x/k.tar.gz", "ab12").unwrap();
        assert!(out.starts_with("apiVersion: krew.googlecontainertools.github.com/v1alpha2\n"));
        assert!(out.contains("version: v1.2.3\n"), "{out}");
        assert!(out.contains("uri: https://x/k.tar.gz\n"), "{out}");
        assert!(out.contains("sha256: \"ab12\"\n"), "{out}");
        assert!(out.contains("bin: kubectl-tcptop\n"), "{out}");
    }

    #[test]
    fn unknown_placeholders_fail() {
        let err = render("a: {{NAME}}\n", "1", "u", "s").unwrap_err();
        assert!(err.to_string().contains("{{NAME}}"), "{err}");
    }
}
