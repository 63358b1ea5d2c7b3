//! Pacer's web UI: static assets compiled into the binary and served by `apis` under `/ui/`.
//!
//! Plain HTML, CSS and JavaScript modules: no Node toolchain is needed to build or run it.
//! Every file under `assets/` must be listed in [`ASSETS`]; a test checks that none is missed.

/// One embedded file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asset {
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const fn ends_with(path: &str, suffix: &str) -> bool {
    let (p, s) = (path.as_bytes(), suffix.as_bytes());
    if s.len() > p.len() {
        return false;
    }
    let mut i = 0;
    while i < s.len() {
        if p[p.len() - s.len() + i] != s[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Chosen at compile time from the name, so a new kind of file cannot go out untyped.
const fn content_type(path: &str) -> &'static str {
    if ends_with(path, ".html") {
        "text/html; charset=utf-8"
    } else if ends_with(path, ".css") {
        "text/css; charset=utf-8"
    } else if ends_with(path, ".js") {
        "text/javascript; charset=utf-8"
    } else if ends_with(path, ".svg") {
        "image/svg+xml"
    } else {
        panic!("an asset of unknown type")
    }
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(($path, Asset { content_type: content_type($path), body: include_bytes!(concat!("../assets/", $path)) })),*]
    };
}

const ASSETS: &[(&str, Asset)] = assets![
    "index.html",
    "style.css",
    "favicon.svg",
    "app.js",
    "js/api.js",
    "js/dom.js",
    "js/live.js",
    "js/status.js",
    "js/tree.js",
    "js/yaml.js",
    "js/diff.js",
    "js/jsonpos.js",
    "js/yamlpos.js",
    "js/dialogs.js",
    "js/actions.js",
    "js/editor.js",
    "js/kinds.js",
    "js/podactions.js",
    "js/format.js",
    "js/views/apps.js",
    "js/views/app.js",
    "js/views/group.js",
    "js/views/pods.js",
    "js/views/pod.js",
    "js/views/podinstances.js",
    "js/views/instances.js",
    "js/views/logs.js",
    "js/views/versions.js",
    "js/views/deployments.js",
    "js/views/queue.js",
    "js/views/cluster.js",
];

/// The asset at `path` below `/ui/`; the empty path is the index page.
pub fn asset(path: &str) -> Option<Asset> {
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    ASSETS.iter().find(|(name, _)| *name == path).map(|(_, a)| *a)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn serves_index_and_assets_only() {
        assert_eq!(asset("").unwrap().content_type, "text/html; charset=utf-8");
        assert_eq!(asset("/"), asset("index.html"));
        assert_eq!(asset("app.js").unwrap().content_type, "text/javascript; charset=utf-8");
        assert_eq!(asset("style.css").unwrap().content_type, "text/css; charset=utf-8");
        assert_eq!(asset("favicon.svg").unwrap().content_type, "image/svg+xml");
        assert!(asset("js/views/apps.js").is_some());
        assert!(asset("../Cargo.toml").is_none());
        assert!(asset("missing.js").is_none());
    }

    #[test]
    fn the_index_loads_the_script_and_styles() {
        let index = std::str::from_utf8(asset("").unwrap().body).unwrap();
        assert!(index.contains("app.js") && index.contains("style.css"));
    }

    fn files_under(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                files_under(&entry.path(), &format!("{name}/"), out);
            } else {
                out.push(name);
            }
        }
    }

    /// A module missing from the table would be a 404 in the browser, found only there.
    #[test]
    fn every_file_under_assets_is_embedded() {
        let mut files = Vec::new();
        files_under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets"), "", &mut files);
        let missing: Vec<_> = files.iter().filter(|f| asset(f).is_none()).collect();
        assert!(missing.is_empty(), "not in ASSETS: {missing:?}");
    }

    /// Every relative `import ... from "./x.js"` of an embedded module names an embedded file.
    #[test]
    fn every_imported_module_is_embedded() {
        for (name, a) in ASSETS.iter().filter(|(n, _)| n.ends_with(".js")) {
            let text = std::str::from_utf8(a.body).unwrap();
            let dir = Path::new(name).parent().unwrap();
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let target = line.rsplit(['"', '\'']).nth(1).unwrap();
                let mut resolved = dir.to_path_buf();
                for part in target.split('/') {
                    match part {
                        "." => {}
                        ".." => assert!(resolved.pop(), "{name} imports {target} outside the UI"),
                        p => resolved.push(p),
                    }
                }
                let resolved = resolved.to_string_lossy();
                assert!(
                    asset(&resolved).is_some(),
                    "{name} imports {target}, which is not embedded"
                );
            }
        }
    }
}
