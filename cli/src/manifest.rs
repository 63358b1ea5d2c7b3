//! Reading manifests: JSON or YAML files, directories of them, and stdin.
//!
//! A JSON file holds one document or an array of them; a YAML file holds one or more
//! documents separated by `---`, each a document or a list of them. A directory stands for its
//! `*.json`, `*.yaml` and `*.yml` files in name order, and with `-R` for those of its
//! subdirectories too. `-` is stdin, whose format is told by its first character (`{` or `[`
//! is JSON, anything else YAML).
//!
//! A document is a Marathon app, pod or group, told apart by its content: `containers` makes
//! a pod, `apps`, `groups` or `pods` a group, anything else with an `id` an app. An optional
//! `kind: app|pod|group` says it outright and is not sent to the server. Groups are read by
//! `groups::manifest`, pods by `pods::manifest` (Marathon's pod shape, for `/v2/pods`).

use std::io::Read;
use std::path::{Path, PathBuf};

use schemas::PathId;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::groups::manifest::{GroupManifest, check_overlaps, group};
use crate::pods::manifest::{PodManifest, check_pods, pod};

/// One document of the manifests: an app, a pod or a group.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Document {
    App(Manifest),
    Pod(PodManifest),
    Group(GroupManifest),
}

/// One app to apply, as written by the user.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Manifest {
    /// Where it came from, for messages: `apps.yaml (document 2)`, `list.json [1]`.
    pub(crate) origin: String,
    /// The app id resolved to an absolute path (relative ids are relative to the root group).
    pub(crate) id: PathId,
    /// The app definition as written (less `kind`), sent as the PUT body.
    pub(crate) body: Map<String, Value>,
}

/// Where manifests come from: `-f` values and `-R`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Sources {
    /// A manifest file (JSON or YAML), a directory of them, or `-` for stdin. Repeatable.
    #[arg(short = 'f', long = "filename", value_name = "FILE|DIR|-", required = true)]
    pub files: Vec<PathBuf>,
    /// Also read the manifests in subdirectories of the directories given.
    #[arg(short = 'R', long)]
    pub recursive: bool,
}

impl Sources {
    /// Reads every source (stdin for `-`); documents that overlap (one app twice, an app
    /// inside a group document, a group inside another, a pod id also named by another
    /// document) are an error.
    pub(crate) fn load(&self) -> Result<Vec<Document>> {
        let docs = load(&self.files, self.recursive, &mut std::io::stdin().lock())?;
        check_overlaps(&docs)?;
        check_pods(&docs)?;
        Ok(docs)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Json,
    Yaml,
    /// Decide from the content (stdin, or a file named on the command line with another suffix).
    Sniff,
}

/// Reads every source in order (`-` reads `stdin`) and returns the documents they hold.
///
/// Errors when a source cannot be read or parsed, or when the sources hold nothing at all.
pub(crate) fn load(sources: &[PathBuf], recursive: bool, stdin: &mut dyn Read) -> Result<Vec<Document>> {
    let mut apps = Vec::new();
    for source in sources {
        if source.as_os_str() == "-" {
            let mut text = String::new();
            stdin.read_to_string(&mut text).map_err(|source| Error::Read {
                path: PathBuf::from("<stdin>"),
                source,
            })?;
            apps.extend(parse("<stdin>", Format::Sniff, &text)?);
        } else if source.is_dir() {
            for file in dir_files(source, recursive)? {
                let format = format_of(&file).unwrap_or(Format::Sniff);
                apps.extend(parse(&file.display().to_string(), format, &read(&file)?)?);
            }
        } else {
            let format = format_of(source).unwrap_or(Format::Sniff);
            apps.extend(parse(&source.display().to_string(), format, &read(source)?)?);
        }
    }
    if apps.is_empty() {
        return Err(Error::Usage(
            "no apps, pods or groups found in the given files (use -f FILE|DIR|-)".into(),
        ));
    }
    Ok(apps)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()? {
        "json" => Some(Format::Json),
        "yaml" | "yml" => Some(Format::Yaml),
        _ => None,
    }
}

/// The manifest files inside `dir` (and below it when `recursive`), sorted by path.
fn dir_files(dir: &Path, recursive: bool) -> Result<Vec<PathBuf>> {
    let read_err = |source| Error::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.is_file() && format_of(&path).is_some() {
            files.push(path);
        } else if recursive && path.is_dir() {
            files.extend(dir_files(&path, true)?);
        }
    }
    files.sort();
    Ok(files)
}

fn parse(origin: &str, format: Format, text: &str) -> Result<Vec<Document>> {
    let format = match format {
        Format::Sniff if matches!(text.trim_start().chars().next(), Some('{' | '[')) => Format::Json,
        Format::Sniff => Format::Yaml,
        f => f,
    };
    let mut apps = Vec::new();
    match format {
        Format::Json => {
            let value: Value = serde_json::from_str(text).map_err(|source| Error::Json {
                origin: origin.to_string(),
                source,
            })?;
            collect(origin.to_string(), value, &mut apps)?;
        }
        _ => {
            // Stop at the first bad document: after a syntax error the document iterator does
            // not necessarily end.
            for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
                let doc_origin = format!("{origin} (document {})", i + 1);
                let value = Value::deserialize(doc).map_err(|source| Error::Yaml {
                    origin: doc_origin.clone(),
                    source,
                })?;
                // An empty document (a trailing `---`, or only comments) holds nothing.
                if !value.is_null() {
                    collect(doc_origin, value, &mut apps)?;
                }
            }
        }
    }
    Ok(apps)
}

fn collect(origin: String, value: Value, docs: &mut Vec<Document>) -> Result<()> {
    match value {
        Value::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                docs.push(document(format!("{origin} [{i}]"), item)?);
            }
            Ok(())
        }
        other => {
            docs.push(document(origin, other)?);
            Ok(())
        }
    }
}

fn document(origin: String, value: Value) -> Result<Document> {
    let Value::Object(mut body) = value else {
        return Err(Error::Manifest {
            origin,
            message: "expected an app, pod or group definition (an object)".into(),
        });
    };
    let kind = match body.remove("kind") {
        None => kind_of(&body),
        Some(Value::String(k)) => match k.to_ascii_lowercase().as_str() {
            "app" => "app",
            "pod" => "pod",
            "group" => "group",
            _ => {
                return Err(Error::Manifest {
                    origin,
                    message: format!("unknown kind '{k}' (app, pod or group)"),
                });
            }
        },
        Some(other) => {
            return Err(Error::Manifest {
                origin,
                message: format!("kind must be a string, not {other}"),
            });
        }
    };
    match kind {
        "pod" => pod(origin, body).map(Document::Pod),
        "group" => group(origin, body).map(Document::Group),
        _ => app(origin, body).map(Document::App),
    }
}

fn app(origin: String, body: Map<String, Value>) -> Result<Manifest> {
    let Some(Value::String(raw_id)) = body.get("id") else {
        return Err(Error::Manifest {
            origin,
            message: "an app needs an \"id\" string".into(),
        });
    };
    let id = PathId::parse(raw_id).map_err(|e| Error::Manifest {
        origin: origin.clone(),
        message: e.to_string(),
    })?;
    if id.is_root() {
        return Err(Error::Manifest {
            origin,
            message: format!("id '{raw_id}' does not name an app"),
        });
    }
    Ok(Manifest { origin, id, body })
}

/// What a document without `kind` is, from the fields only that kind has.
fn kind_of(doc: &Map<String, Value>) -> &'static str {
    if doc.contains_key("containers") {
        "pod"
    } else if ["apps", "groups", "pods"].iter().any(|k| doc.contains_key(*k)) {
        "group"
    } else {
        "app"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(apps: &[Manifest]) -> Vec<&str> {
        apps.iter().map(|a| a.id.as_str()).collect()
    }

    /// The apps of the documents; a group among them fails the test.
    fn load_apps(sources: &[PathBuf], recursive: bool, stdin: &mut dyn Read) -> Result<Vec<Manifest>> {
        let docs = load(sources, recursive, stdin)?;
        Ok(docs
            .into_iter()
            .map(|d| match d {
                Document::App(a) => a,
                Document::Group(g) => panic!("group {}", g.id),
                Document::Pod(p) => panic!("pod {}", p.id),
            })
            .collect())
    }

    fn load_str(text: &str) -> Result<Vec<Manifest>> {
        load_apps(&[PathBuf::from("-")], false, &mut text.as_bytes())
    }

    fn load_docs(text: &str) -> Result<Vec<Document>> {
        load(&[PathBuf::from("-")], false, &mut text.as_bytes())
    }

    #[test]
    fn json_object_and_array() {
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("one.json");
        std::fs::write(&one, r#"{"id":"web","cmd":"sleep 100","instances":2}"#).unwrap();
        let many = dir.path().join("many.json");
        std::fs::write(&many, r#"[{"id":"/a/x","cmd":"x"},{"id":"/a/y","cmd":"y"}]"#).unwrap();
        let apps = load_apps(&[one, many.clone()], false, &mut std::io::empty()).unwrap();
        assert_eq!(ids(&apps), ["/web", "/a/x", "/a/y"]);
        assert_eq!(apps[0].body["instances"], 2);
        assert_eq!(apps[2].origin, format!("{} [1]", many.display()));
    }

    #[test]
    fn yaml_multi_document_skips_empty_documents() {
        let text = "id: /one\ncmd: sleep 1\ncpus: 0.1\n---\n# only a comment\n---\nid: two\ncmd: sleep 2\nenv:\n  A: \"1\"\n---\n";
        let apps = load_str(text).unwrap();
        assert_eq!(ids(&apps), ["/one", "/two"]);
        assert_eq!(apps[0].body["cpus"], 0.1);
        assert_eq!(apps[1].body["env"]["A"], "1");
        assert_eq!(apps[1].origin, "<stdin> (document 3)");
    }

    #[test]
    fn stdin_is_sniffed() {
        assert_eq!(ids(&load_str("  [{\"id\":\"/j\",\"cmd\":\"c\"}]").unwrap()), ["/j"]);
        assert_eq!(ids(&load_str("- id: /y1\n- id: /y2\n").unwrap()), ["/y1", "/y2"]);
    }

    #[test]
    fn directory_takes_manifest_files_sorted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.yml"), "id: /b\ncmd: b\n").unwrap();
        std::fs::write(dir.path().join("a.json"), r#"{"id":"/a","cmd":"a"}"#).unwrap();
        std::fs::write(dir.path().join("c.yaml"), "id: /c\ncmd: c\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
        std::fs::create_dir(dir.path().join("sub.json")).unwrap();
        let apps = load_apps(&[dir.path().to_path_buf()], false, &mut std::io::empty()).unwrap();
        assert_eq!(ids(&apps), ["/a", "/b", "/c"]);
    }

    #[test]
    fn recursion_only_with_dash_r() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "id: /a\n").unwrap();
        std::fs::create_dir_all(dir.path().join("team/deep")).unwrap();
        std::fs::write(dir.path().join("team/b.json"), r#"{"id":"/b"}"#).unwrap();
        std::fs::write(dir.path().join("team/deep/c.yml"), "id: /c\n").unwrap();
        let root = [dir.path().to_path_buf()];
        assert_eq!(ids(&load_apps(&root, false, &mut std::io::empty()).unwrap()), ["/a"]);
        assert_eq!(
            ids(&load_apps(&root, true, &mut std::io::empty()).unwrap()),
            ["/a", "/b", "/c"]
        );
    }

    #[test]
    fn kinds_by_content_or_field() {
        let apps = load_str("kind: App\nid: /k\ncmd: x\n").unwrap();
        assert_eq!(ids(&apps), ["/k"]);
        assert!(!apps[0].body.contains_key("kind"), "kind is not sent");
        let docs = load_docs("id: p\ncontainers: [{name: c}]\n---\nkind: pod\nid: /q\ncontainers: []\n").unwrap();
        assert!(
            matches!(&docs[..], [Document::Pod(p), Document::Pod(q)] if p.id.as_str() == "/p" && q.id.as_str() == "/q" && !q.body.contains_key("kind")),
            "{docs:?}"
        );
        let e = load_docs("kind: pod\nid: /p\n").unwrap_err();
        assert!(e.to_string().contains("a pod needs a \"containers\" list"), "{e}");
        let docs = load_docs("{\"id\": \"/g\", \"apps\": [{\"id\": \"a\"}]}\n").unwrap();
        assert!(
            matches!(&docs[..], [Document::Group(g)] if g.apps[0].as_str() == "/g/a"),
            "{docs:?}"
        );
        let docs = load_docs("kind: group\nid: /g\n---\nid: /x\ncmd: c\n").unwrap();
        assert!(
            matches!(&docs[..], [Document::Group(g), Document::App(a)] if g.id.as_str() == "/g" && !g.body.contains_key("kind") && a.id.as_str() == "/x"),
            "{docs:?}"
        );
        assert!(matches!(
            load_str("kind: deployment\nid: /x\n").unwrap_err(),
            Error::Manifest { .. }
        ));
        assert!(matches!(
            load_str("kind: 3\nid: /x\n").unwrap_err(),
            Error::Manifest { .. }
        ));
    }

    #[test]
    fn bad_input_gives_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{\"id\": ").unwrap();
        let err = load_apps(&[bad], false, &mut std::io::empty()).unwrap_err();
        assert!(matches!(err, Error::Json { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 2);

        let err = load_apps(&[dir.path().join("missing.yaml")], false, &mut std::io::empty()).unwrap_err();
        assert!(matches!(err, Error::Read { .. }), "{err:?}");

        assert!(matches!(load_str("id: [unclosed\n").unwrap_err(), Error::Yaml { .. }));
        assert!(matches!(load_str("cmd: no id\n").unwrap_err(), Error::Manifest { .. }));
        assert!(matches!(load_str("[1, 2]").unwrap_err(), Error::Manifest { .. }));
        assert!(matches!(
            load_str("{\"id\": \"/\"}").unwrap_err(),
            Error::Manifest { .. }
        ));
        assert!(matches!(
            load_str("{\"id\": \"..\"}").unwrap_err(),
            Error::Manifest { .. }
        ));
        assert!(matches!(load_str("# nothing\n").unwrap_err(), Error::Usage(_)));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            load_apps(&[empty.path().to_path_buf()], false, &mut std::io::empty()),
            Err(Error::Usage(_))
        ));
    }
}
