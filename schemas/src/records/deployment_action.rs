//! A deployment action as Marathon writes it: `{"action": ..., "app": id}` for apps and
//! `{"action": ..., "pod": id}` for pods.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ActionKind, DeploymentAction};
use crate::PathId;

#[derive(Serialize, Deserialize)]
struct Wire {
    action: ActionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    app: Option<PathId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pod: Option<PathId>,
}

impl Serialize for DeploymentAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let id = Some(self.app.clone());
        let (app, pod) = if self.action.is_pod() { (None, id) } else { (id, None) };
        Wire {
            action: self.action,
            app,
            pod,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for DeploymentAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        let app = w.app.or(w.pod).ok_or_else(|| D::Error::missing_field("app"))?;
        Ok(DeploymentAction { action: w.action, app })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_are_named_pod_and_apps_app() {
        let pod = DeploymentAction {
            action: ActionKind::ScalePod,
            app: PathId::parse("/p").unwrap(),
        };
        let json = serde_json::to_value(&pod).unwrap();
        assert_eq!(json, serde_json::json!({"action": "ScalePod", "pod": "/p"}));
        assert_eq!(serde_json::from_value::<DeploymentAction>(json).unwrap(), pod);
        let app = serde_json::json!({"action": "StopApplication", "app": "/a"});
        let read: DeploymentAction = serde_json::from_value(app.clone()).unwrap();
        assert_eq!(read.action, ActionKind::StopApplication);
        assert_eq!(serde_json::to_value(&read).unwrap(), app);
        assert!(serde_json::from_value::<DeploymentAction>(serde_json::json!({"action": "StopPod"})).is_err());
    }
}
