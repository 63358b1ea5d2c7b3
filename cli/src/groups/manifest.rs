//! Group documents in manifests: Marathon's group shape (`id`, `apps`, `pods`, `groups`,
//! `dependencies`, `enforceRole`), nested to any depth.
//!
//! Ids are resolved here the way the server resolves them (relative ids against the enclosing
//! group), so that a group's apps can be checked against the app documents of the same apply
//! before anything is sent. The body itself is sent as written: the server resolves it again.

use std::collections::BTreeMap;

use schemas::PathId;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::manifest::Document;

/// One group document: a root group of one apply, written with one `PUT /v2/groups/{id}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GroupManifest {
    /// Where it came from, for messages.
    pub(crate) origin: String,
    /// The group id, absolute.
    pub(crate) id: PathId,
    /// The group as written (less `kind`), sent as the PUT body.
    pub(crate) body: Map<String, Value>,
    /// Every app the document names, resolved, depth first in document order.
    pub(crate) apps: Vec<PathId>,
    /// Every pod the document names, the same way.
    pub(crate) pods: Vec<PathId>,
}

/// Reads a group document; `body` has lost its `kind` already.
pub(crate) fn group(origin: String, body: Map<String, Value>) -> Result<GroupManifest> {
    let bad = |message: String| Error::Manifest {
        origin: origin.clone(),
        message,
    };
    let Some(Value::String(raw_id)) = body.get("id") else {
        return Err(bad("a group needs an \"id\" string (\"/\" for the root group)".into()));
    };
    let id = PathId::parse(raw_id).map_err(|e| bad(e.to_string()))?;
    if let Some(e) = id.segment_errors().into_iter().next() {
        return Err(bad(format!("id '{raw_id}': {e}")));
    }
    let mut walk = Walk {
        origin: &origin,
        apps: Vec::new(),
        pods: Vec::new(),
        seen: BTreeMap::new(),
    };
    walk.node(&body, &id, "")?;
    let (apps, pods) = (walk.apps, walk.pods);
    Ok(GroupManifest {
        origin,
        id,
        body,
        apps,
        pods,
    })
}

struct Walk<'a> {
    origin: &'a str,
    apps: Vec<PathId>,
    pods: Vec<PathId>,
    /// Every id named so far and where: an id names one app, one pod or one group, once.
    seen: BTreeMap<PathId, String>,
}

impl Walk<'_> {
    fn fail(&self, message: String) -> Error {
        Error::Manifest {
            origin: self.origin.to_string(),
            message,
        }
    }

    /// The members of the group `id`, written at `at` (`groups[1].` or empty for the top).
    fn node(&mut self, node: &Map<String, Value>, id: &PathId, at: &str) -> Result<()> {
        for (i, app) in self.members(node, "apps", at)?.into_iter().enumerate() {
            let app_id = self.member_id(app, id, &format!("{at}apps[{i}]"))?;
            self.apps.push(app_id);
        }
        for (i, pod) in self.members(node, "pods", at)?.into_iter().enumerate() {
            let pod_id = self.member_id(pod, id, &format!("{at}pods[{i}]"))?;
            self.pods.push(pod_id);
        }
        for (i, sub) in self.members(node, "groups", at)?.into_iter().enumerate() {
            let place = format!("{at}groups[{i}]");
            let sub_id = self.member_id(sub, id, &place)?;
            self.node(sub, &sub_id, &format!("{place}."))?;
        }
        Ok(())
    }

    /// The objects listed under `key` (none when it is absent).
    fn members<'n>(&self, node: &'n Map<String, Value>, key: &str, at: &str) -> Result<Vec<&'n Map<String, Value>>> {
        match node.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    v.as_object()
                        .ok_or_else(|| self.fail(format!("{at}{key}[{i}]: expected an object")))
                })
                .collect(),
            Some(_) => Err(self.fail(format!("{at}{key}: expected a list"))),
        }
    }

    /// The member's id resolved against its group; it must lie below that group.
    fn member_id(&mut self, member: &Map<String, Value>, group: &PathId, place: &str) -> Result<PathId> {
        let Some(Value::String(raw)) = member.get("id") else {
            return Err(self.fail(format!("{place}: needs an \"id\" string")));
        };
        let id = group.resolve(raw).map_err(|e| self.fail(format!("{place}: {e}")))?;
        if id == *group || !id.is_within(group) {
            return Err(self.fail(format!(
                "{place}: id '{raw}' is {id}, which is not below its group {group} (use a relative id)"
            )));
        }
        if let Some(e) = id.segment_errors().into_iter().next() {
            return Err(self.fail(format!("{place}: id '{raw}': {e}")));
        }
        if let Some(first) = self.seen.insert(id.clone(), place.to_string()) {
            return Err(self.fail(format!("{place}: {id} is also named at {first}")));
        }
        Ok(id)
    }
}

/// Documents of one apply that cannot go together: two documents for one app, two group
/// documents one inside the other (one PUT would replace what the other writes), an app or
/// pod document inside a group document (the group's PUT would remove it, or both would write
/// it).
pub(crate) fn check_overlaps(docs: &[Document]) -> Result<()> {
    let mut apps: BTreeMap<&PathId, &str> = BTreeMap::new();
    let mut groups: Vec<&GroupManifest> = Vec::new();
    for doc in docs {
        match doc {
            Document::App(app) => {
                if let Some(first) = apps.insert(&app.id, &app.origin) {
                    return Err(Error::Manifest {
                        origin: app.origin.clone(),
                        message: format!("app {} is also defined in {first}", app.id),
                    });
                }
            }
            Document::Group(g) => {
                if let Some(other) = groups.iter().find(|o| g.id.is_within(&o.id) || o.id.is_within(&g.id)) {
                    return Err(Error::Manifest {
                        origin: g.origin.clone(),
                        message: format!(
                            "group {} overlaps group {} of {}: one group's PUT would replace the other's \
                             apps; write them as one document",
                            g.id, other.id, other.origin
                        ),
                    });
                }
                groups.push(g);
            }
            // Pods' ids against other documents are checked by `pods::manifest::check_pods`.
            Document::Pod(_) => {}
        }
    }
    for doc in docs {
        match doc {
            Document::App(app) => check_outside("app", &app.id, &app.origin, &groups)?,
            Document::Pod(pod) => check_outside("pod", &pod.id, &pod.origin, &groups)?,
            Document::Group(_) => {}
        }
    }
    Ok(())
}

fn check_outside(kind: &str, id: &PathId, origin: &str, groups: &[&GroupManifest]) -> Result<()> {
    match groups.iter().find(|g| id.is_within(&g.id)) {
        Some(g) => Err(Error::Manifest {
            origin: origin.to_string(),
            message: format!(
                "{kind} {id} lies inside group {} of {}: put the {kind} in the group document, or leave \
                 the group out",
                g.id, g.origin
            ),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::manifest::Manifest;

    fn doc(v: Value) -> Result<GroupManifest> {
        group("g.yaml".into(), v.as_object().cloned().unwrap())
    }

    fn ids(g: &GroupManifest) -> Vec<&str> {
        g.apps.iter().map(PathId::as_str).collect()
    }

    #[test]
    fn nested_ids_resolve_against_their_enclosing_group() {
        let g = doc(json!({
            "id": "prod",
            "apps": [{"id": "web"}, {"id": "/prod/api"}],
            "groups": [{"id": "back", "apps": [{"id": "db"}, {"id": "./cache"}],
                        "groups": [{"id": "/prod/back/deep", "apps": [{"id": "x"}]}]}],
            "dependencies": ["../other"],
        }))
        .unwrap();
        assert_eq!(g.id.as_str(), "/prod");
        assert_eq!(
            ids(&g),
            [
                "/prod/web",
                "/prod/api",
                "/prod/back/db",
                "/prod/back/cache",
                "/prod/back/deep/x"
            ]
        );
        assert_eq!(g.body["groups"][0]["id"], "back", "the body is sent as written");
    }

    #[test]
    fn bad_group_documents_name_the_place() {
        let err = |v: Value| doc(v).unwrap_err().to_string();
        assert!(err(json!({"apps": []})).contains("needs an \"id\""));
        let e = err(json!({"id": "/g", "groups": [{"id": "x", "apps": [{"id": "/elsewhere/a"}]}]}));
        assert!(
            e.contains("groups[0].apps[0]") && e.contains("not below its group /g/x"),
            "{e}"
        );
        let e = err(json!({"id": "/g", "apps": [{"id": "a"}], "groups": [{"id": "a"}]}));
        assert!(e.contains("/g/a is also named at apps[0]"), "{e}");
        assert!(err(json!({"id": "/g", "apps": {"id": "a"}})).contains("apps: expected a list"));
        assert!(err(json!({"id": "/g", "apps": [3]})).contains("apps[0]: expected an object"));
        assert!(err(json!({"id": "/g", "apps": [{"cmd": "x"}]})).contains("apps[0]: needs an \"id\""));
        assert!(err(json!({"id": "/g", "apps": [{"id": ".."}]})).contains("not below"));
        let g =
            doc(json!({"id": "/g", "groups": [{"id": "s", "pods": [{"id": "p"}]}], "pods": [{"id": "q"}]})).unwrap();
        assert_eq!(
            g.pods.iter().map(PathId::as_str).collect::<Vec<_>>(),
            ["/g/q", "/g/s/p"]
        );
        let e = err(json!({"id": "/g", "apps": [{"id": "x"}], "pods": [{"id": "x"}]}));
        assert!(e.contains("pods[0]: /g/x is also named at apps[0]"), "{e}");
        assert!(doc(json!({"id": "/g", "pods": []})).is_ok(), "no pods is fine");
    }

    fn app(id: &str) -> Document {
        Document::App(Manifest {
            origin: format!("{id}.yaml"),
            id: PathId::parse(id).unwrap(),
            body: Map::new(),
        })
    }

    fn grp(id: &str) -> Document {
        Document::Group(doc(json!({"id": id})).unwrap())
    }

    #[test]
    fn overlapping_documents_are_refused() {
        assert!(check_overlaps(&[app("/a"), grp("/g"), app("/gx"), grp("/h/i")]).is_ok());
        let e = check_overlaps(&[grp("/g"), app("/g/a")]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().contains("app /g/a lies inside group /g of g.yaml"),
            "names both: {e}"
        );
        let e = check_overlaps(&[app("/g/a"), grp("/g")]).unwrap_err().to_string();
        assert!(e.starts_with("/g/a.yaml: app /g/a lies inside group /g"), "{e}");
        let e = check_overlaps(&[grp("/g"), grp("/g/sub")]).unwrap_err().to_string();
        assert!(e.contains("group /g/sub overlaps group /g"), "{e}");
        assert!(check_overlaps(&[grp("/g"), grp("/g")]).is_err());
        assert!(
            check_overlaps(&[grp("/"), app("/a")]).is_err(),
            "the root holds everything"
        );
        assert!(check_overlaps(&[app("/a"), app("/a")]).is_err());
        let pod = Document::Pod(crate::pods::manifest::PodManifest {
            origin: "p.yaml".into(),
            id: PathId::parse("/g/p").unwrap(),
            body: Map::new(),
        });
        let e = check_overlaps(&[grp("/g"), pod]).unwrap_err().to_string();
        assert!(e.contains("pod /g/p lies inside group /g of g.yaml"), "{e}");
    }
}
