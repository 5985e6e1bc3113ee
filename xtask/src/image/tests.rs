//! The archive read back: every digest matches its blob, every reference resolves.
use std::{collections::BTreeMap, io::Read};

use super::*;

fn spec() -> ImageSpec {
    ImageSpec {
        version: "1.2.3".into(),
        revision: "abcdef123456".into(),
        created: 1_700_000_000,
    }
}

/// Path -> (mode, bytes) of every entry.
fn entries(tar_bytes: &[u8]) -> BTreeMap<String, (u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    for e in tar::Archive::new(tar_bytes).entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mode = e.header().mode().unwrap();
        assert_eq!(e.header().mtime().unwrap(), 1_700_000_000, "{path}");
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.insert(path, (mode, data));
    }
    out
}

fn json_of(files: &BTreeMap<String, (u32, Vec<u8>)>, path: &str) -> Value {
    serde_json::from_slice(&files[path].1).unwrap()
}

/// The blob a descriptor points to, after checking its digest and size.
fn blob<'a>(files: &'a BTreeMap<String, (u32, Vec<u8>)>, descriptor: &Value) -> &'a [u8] {
    let digest = descriptor["digest"].as_str().unwrap();
    let hex = digest.strip_prefix("sha256:").unwrap();
    let data = &files[&format!("blobs/sha256/{hex}")].1;
    assert_eq!(sha256_hex(data), hex);
    assert_eq!(descriptor["size"].as_u64().unwrap(), data.len() as u64);
    data
}

#[test]
fn layout_is_complete_and_consistent() {
    let binary = b"\x7fELF pretend binary".to_vec();
    let files = entries(&archive(&binary, &spec()).unwrap());
    assert_eq!(
        json_of(&files, "oci-layout"),
        json!({"imageLayoutVersion": "1.0.0"})
    );
    let index = json_of(&files, "index.json");
    assert_eq!(index["schemaVersion"], 2);
    let m = &index["manifests"][0];
    assert_eq!(
        m["annotations"]["org.opencontainers.image.ref.name"],
        "1.2.3"
    );
    assert_eq!(
        m["annotations"]["io.containerd.image.name"],
        "docker.io/library/tcptop:1.2.3"
    );
    assert_eq!(m["platform"]["architecture"], "amd64");

    let manifest: Value = serde_json::from_slice(blob(&files, m)).unwrap();
    assert_eq!(manifest["mediaType"], MANIFEST_TYPE);
    let config: Value = serde_json::from_slice(blob(&files, &manifest["config"])).unwrap();
    let layer_desc = &manifest["layers"][0];
    assert_eq!(layer_desc["mediaType"], LAYER_TYPE);
    let layer = blob(&files, layer_desc);
    // Uncompressed layer: its diff ID is its digest.
    assert_eq!(config["rootfs"]["diff_ids"][0], layer_desc["digest"]);
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
    assert_eq!(
        config["config"]["Labels"]["org.opencontainers.image.revision"],
        "abcdef123456"
    );
    assert_eq!(
        config["config"]["Entrypoint"],
        json!(["/usr/local/bin/tcptop"])
    );

    let rootfs = entries(layer);
    assert_eq!(
        rootfs.keys().collect::<Vec<_>>(),
        [
            "usr/",
            "usr/local/",
            "usr/local/bin/",
            "usr/local/bin/tcptop"
        ]
    );
    assert_eq!(rootfs["usr/local/bin/tcptop"], (0o755, binary));

    // Docker's manifest.json names the same blobs.
    let docker = json_of(&files, "manifest.json");
    assert_eq!(docker[0]["RepoTags"], json!(["tcptop:1.2.3"]));
    let cfg_path = docker[0]["Config"].as_str().unwrap();
    assert_eq!(
        cfg_path,
        format!(
            "blobs/sha256/{}",
            manifest["config"]["digest"]
                .as_str()
                .unwrap()
                .trim_start_matches("sha256:")
        )
    );
    assert!(files.contains_key(docker[0]["Layers"][0].as_str().unwrap()));
}

#[test]
fn same_input_same_bytes() {
    let a = archive(b"bin", &spec()).unwrap();
    assert_eq!(a, archive(b"bin", &spec()).unwrap());
    assert_ne!(a, archive(b"bin2", &spec()).unwrap());
}

#[test]
fn json_keys_are_sorted() {
    let v = json!({"b": 1, "a": {"d": 2, "c": [{"f": 3, "e": 4}]}});
    assert_eq!(
        String::from_utf8(to_json(&v)).unwrap(),
        r#"{"a":{"c":[{"e":4,"f":3}],"d":2},"b":1}"#
    );
}
