//! `cargo xtask screenshots`: renders the real UI from the demo recording
//! (`tcptop/tests/fixtures/demo.jsonl`) into SVG files under `screenshots/`, which
//! GitHub shows inline. The rendering itself is tcptop's `screenshots` example.
use std::path::Path;

use anyhow::Result;

use crate::{cargo, run};

/// Writes the screenshots into `screenshots/` at the workspace root.
pub fn all() -> Result<()> {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = xtask.parent().unwrap_or(xtask);
    let out = root.join("screenshots");
    run(cargo()
        .current_dir(root)
        .args([
            "run",
            "--quiet",
            "-p",
            "tcptop",
            "--example",
            "screenshots",
            "--",
        ])
        .arg(&out))
}
