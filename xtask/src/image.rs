//! `cargo xtask image`: an OCI image archive holding the static tcptop binary, built
//! without Docker. One uncompressed layer (`/usr/local/bin/tcptop`), an OCI config,
//! manifest and index, and Docker's `manifest.json` beside them: the layout
//! `docker save` writes since Docker 25, which `docker load`, `podman load`,
//! `skopeo copy oci-archive:` / `docker-archive:` and `ctr images import` all read.
//! Given the same binary and timestamp, the archive is byte-for-byte the same.
use std::{fs, path::PathBuf, process::Command, time::UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::dist::{self, sha256_hex, Dist, PLATFORM, VERSION};

/// The image name; the DaemonSet in deploy/tcptop.yaml refers to `tcptop:<version>`.
pub const NAME: &str = "tcptop";
/// Where the binary sits in the image (on the default PATH).
pub const BINARY_PATH: &str = "usr/local/bin/tcptop";

const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// What goes into the image besides the binary.
#[derive(Clone, Debug)]
pub struct ImageSpec {
    /// Image version (the tag).
    pub version: String,
    /// Git revision, for the revision label.
    pub revision: String,
    /// Seconds since the epoch, for every timestamp in the image.
    pub created: u64,
}

/// A content-addressed blob.
struct Blob {
    data: Vec<u8>,
    hex: String,
}

impl Blob {
    fn new(data: Vec<u8>) -> Self {
        let hex = sha256_hex(&data);
        Self { data, hex }
    }

    fn digest(&self) -> String {
        format!("sha256:{}", self.hex)
    }

    fn path(&self) -> String {
        format!("blobs/sha256/{}", self.hex)
    }

    fn descriptor(&self, media_type: &str) -> Value {
        json!({"mediaType": media_type, "digest": self.digest(), "size": self.data.len()})
    }
}

/// The reproducible archive name.
pub fn archive_name() -> String {
    format!("tcptop-{VERSION}-{PLATFORM}-image.tar")
}

/// Builds the dist binary and writes the image archive next to it.
pub fn image() -> Result<PathBuf> {
    let Dist {
        tcptop,
        plugin_archive,
        ..
    } = dist::dist()?;
    let binary = fs::read(&tcptop).with_context(|| format!("cannot read {}", tcptop.display()))?;
    let spec = ImageSpec {
        version: VERSION.into(),
        revision: revision_of(&tcptop)?,
        created: source_date_epoch(),
    };
    let out = dist::dist_dir().join(archive_name());
    fs::write(&out, archive(&binary, &spec)?)
        .with_context(|| format!("cannot write {}", out.display()))?;
    dist::write_sums(&dist::dist_dir(), &[&tcptop, &plugin_archive, &out])?;
    eprintln!(
        "xtask: image {NAME}:{VERSION} written to {} ({} bytes)",
        out.display(),
        fs::metadata(&out)?.len()
    );
    Ok(out)
}

/// The revision the binary reports in `--version` (running it is also a smoke test).
fn revision_of(binary: &std::path::Path) -> Result<String> {
    let out = Command::new(binary)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {}", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.lines().find_map(|l| l.strip_prefix("revision: ")) {
        Some(r) if out.status.success() => Ok(r.trim().to_string()),
        _ => bail!("{} --version printed no revision: {text}", binary.display()),
    }
}

/// SOURCE_DATE_EPOCH, else the last commit's time, else 0.
fn source_date_epoch() -> u64 {
    if let Some(t) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
    {
        return t;
    }
    Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(dist::workspace())
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// The whole archive for `binary`.
pub fn archive(binary: &[u8], spec: &ImageSpec) -> Result<Vec<u8>> {
    let layer = Blob::new(layer(binary, spec.created)?);
    let config = Blob::new(to_json(&config(&layer, spec)));
    let manifest = Blob::new(to_json(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": config.descriptor(CONFIG_TYPE),
        "layers": [layer.descriptor(LAYER_TYPE)],
    })));
    let mut manifest_descriptor = manifest.descriptor(MANIFEST_TYPE);
    manifest_descriptor["platform"] = json!({"architecture": "amd64", "os": "linux"});
    manifest_descriptor["annotations"] = json!({
        "io.containerd.image.name": format!("docker.io/library/{NAME}:{}", spec.version),
        "org.opencontainers.image.ref.name": spec.version,
    });
    let index = to_json(&json!({
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": [manifest_descriptor],
    }));
    let docker_manifest = to_json(&json!([{
        "Config": config.path(),
        "RepoTags": [format!("{NAME}:{}", spec.version)],
        "Layers": [layer.path()],
    }]));

    let mut tar = tar::Builder::new(Vec::new());
    let mtime = spec.created;
    append_file(
        &mut tar,
        "oci-layout",
        br#"{"imageLayoutVersion":"1.0.0"}"#,
        0o644,
        mtime,
    )?;
    append_file(&mut tar, "index.json", &index, 0o644, mtime)?;
    append_file(&mut tar, "manifest.json", &docker_manifest, 0o644, mtime)?;
    append_dir(&mut tar, "blobs/", mtime)?;
    append_dir(&mut tar, "blobs/sha256/", mtime)?;
    let mut blobs = [&layer, &config, &manifest];
    blobs.sort_by(|a, b| a.hex.cmp(&b.hex));
    for b in blobs {
        append_file(&mut tar, &b.path(), &b.data, 0o644, mtime)?;
    }
    Ok(tar.into_inner()?)
}

/// The single layer: the binary under /usr/local/bin, with its parent directories.
fn layer(binary: &[u8], mtime: u64) -> Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    for dir in ["usr/", "usr/local/", "usr/local/bin/"] {
        append_dir(&mut tar, dir, mtime)?;
    }
    append_file(&mut tar, BINARY_PATH, binary, 0o755, mtime)?;
    Ok(tar.into_inner()?)
}

/// The OCI image config: entrypoint tcptop (so `kubectl debug --image=...` runs the
/// UI), the layer's diff ID, labels.
fn config(layer: &Blob, spec: &ImageSpec) -> Value {
    let created = humantime::format_rfc3339_seconds(
        UNIX_EPOCH + std::time::Duration::from_secs(spec.created),
    )
    .to_string();
    json!({
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Entrypoint": [format!("/{BINARY_PATH}")],
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"],
            "Labels": {
                "org.opencontainers.image.title": NAME,
                "org.opencontainers.image.description": "top for TCP on a Kubernetes node",
                "org.opencontainers.image.version": spec.version,
                "org.opencontainers.image.revision": spec.revision,
                "org.opencontainers.image.licenses": "MIT OR Apache-2.0",
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [layer.digest()]},
        "history": [{"created": created, "created_by": "cargo xtask image"}],
    })
}

/// Compact JSON with keys sorted at every level, whatever serde_json's map features.
fn to_json(v: &Value) -> Vec<u8> {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut m: serde_json::Map<String, Value> =
                    m.iter().map(|(k, v)| (k.clone(), sorted(v))).collect();
                m.sort_keys();
                Value::Object(m)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_vec(&sorted(v)).expect("JSON values serialize")
}

fn header(size: u64, mode: u32, mtime: u64, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(kind);
    h
}

fn append_file(
    tar: &mut tar::Builder<Vec<u8>>,
    path: &str,
    data: &[u8],
    mode: u32,
    mtime: u64,
) -> Result<()> {
    let mut h = header(data.len() as u64, mode, mtime, tar::EntryType::Regular);
    tar.append_data(&mut h, path, data)?;
    Ok(())
}

fn append_dir(tar: &mut tar::Builder<Vec<u8>>, path: &str, mtime: u64) -> Result<()> {
    let mut h = header(0, 0o755, mtime, tar::EntryType::Directory);
    tar.append_data(&mut h, path, std::io::empty())?;
    Ok(())
}

#[cfg(test)]
mod tests;
