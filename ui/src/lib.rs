//! Pacer's web UI: static assets compiled into the binary and served by `apis` under `/ui/`.
//!
//! Plain HTML, CSS and JavaScript modules: no Node toolchain is needed to build or run it.

/// One embedded file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asset {
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const ASSETS: &[(&str, Asset)] = &[
    (
        "index.html",
        Asset {
            content_type: "text/html; charset=utf-8",
            body: include_bytes!("../assets/index.html"),
        },
    ),
    (
        "app.js",
        Asset {
            content_type: "text/javascript; charset=utf-8",
            body: include_bytes!("../assets/app.js"),
        },
    ),
    (
        "style.css",
        Asset {
            content_type: "text/css; charset=utf-8",
            body: include_bytes!("../assets/style.css"),
        },
    ),
];

/// The asset at `path` below `/ui/`; the empty path is the index page.
pub fn asset(path: &str) -> Option<Asset> {
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    ASSETS.iter().find(|(name, _)| *name == path).map(|(_, a)| *a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_index_and_assets_only() {
        assert_eq!(asset("").unwrap().content_type, "text/html; charset=utf-8");
        assert_eq!(asset("/"), asset("index.html"));
        assert!(asset("app.js").is_some());
        assert!(asset("../Cargo.toml").is_none());
        assert!(asset("missing.js").is_none());
    }

    #[test]
    fn the_index_loads_the_script_and_styles() {
        let index = std::str::from_utf8(asset("").unwrap().body).unwrap();
        assert!(index.contains("app.js") && index.contains("style.css"));
    }
}
