//! Turns store changes into reconcile triggers: an app's key, instances or versions name the
//! app; a deployment's key names the deployment, and so does any app it affects.

use std::collections::{BTreeSet, HashMap};

use schemas::{PathId, Record};
use store::{ChangeSet, State, Store, keys};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

/// Sends triggers until cancelled. Starts (and restarts after falling behind) with a full list.
pub(crate) async fn run(
    store: Store,
    apps: mpsc::UnboundedSender<PathId>,
    deployments: mpsc::UnboundedSender<String>,
    cancel: CancellationToken,
) {
    loop {
        // Subscribe before listing so that nothing between the two is missed.
        let mut changes = store.subscribe();
        // The apps of each deployment: when one moves on or ends, its apps waiting for their
        // turn are reconciled again (a deleted deployment's record is gone, so it is kept here).
        let mut affected: HashMap<String, Vec<PathId>> = store.read(|s| {
            s.scan(keys::DEPLOYMENTS)
                .filter_map(|(k, e)| match &e.record {
                    Record::Deployment(d) => Some((k[keys::DEPLOYMENTS.len()..].to_string(), affected_ids(d))),
                    _ => None,
                })
                .collect()
        });
        let (all_apps, all_deployments) = store.read(|s| (every_app(s), every_deployment(s)));
        for app in all_apps {
            let _ = apps.send(app);
        }
        for d in all_deployments {
            let _ = deployments.send(d);
        }
        loop {
            let change = tokio::select! {
                c = changes.recv() => c,
                () = cancel.cancelled() => return,
            };
            match change {
                Ok(change) => {
                    let (mut touched_apps, touched_deployments) = store.read(|s| triggers(s, &change));
                    for id in &touched_deployments {
                        let now = store.read(|s| match s.get(&keys::deployment(id)).map(|e| &e.record) {
                            Some(Record::Deployment(d)) => Some(affected_ids(d)),
                            _ => None,
                        });
                        let apps = match now {
                            Some(apps) => {
                                affected.insert(id.clone(), apps.clone());
                                apps
                            }
                            None => affected.remove(id).unwrap_or_default(),
                        };
                        touched_apps.extend(apps);
                    }
                    for app in touched_apps {
                        let _ = apps.send(app);
                    }
                    for d in touched_deployments {
                        let _ = deployments.send(d);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "controllers fell behind the store; re-listing");
                    break;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

/// The apps and pods a deployment changes.
fn affected_ids(d: &schemas::Deployment) -> Vec<PathId> {
    d.affected_apps.iter().chain(&d.affected_pods).cloned().collect()
}

fn every_app(s: &State) -> BTreeSet<PathId> {
    let mut ids: BTreeSet<PathId> = s.scan(keys::APPS).filter_map(|(k, _)| keys::app_of_key(k)).collect();
    ids.extend(s.scan(keys::PODS).filter_map(|(k, _)| keys::app_of_key(k)));
    // Instances of deleted apps still need their reconciler to clean them up.
    ids.extend(s.scan(keys::INSTANCES).filter_map(|(k, _)| keys::app_of_key(k)));
    ids
}

fn every_deployment(s: &State) -> Vec<String> {
    s.scan(keys::DEPLOYMENTS)
        .filter_map(|(k, _)| k.strip_prefix(keys::DEPLOYMENTS).map(str::to_string))
        .collect()
}

fn triggers(s: &State, change: &ChangeSet) -> (BTreeSet<PathId>, BTreeSet<String>) {
    let mut apps = BTreeSet::new();
    let mut deployments = BTreeSet::new();
    for op in &change.ops {
        let key = op.key();
        if let Some(id) = key.strip_prefix(keys::DEPLOYMENTS) {
            deployments.insert(id.to_string());
        } else if let Some(app) = keys::app_of_key(key)
            && !keys::is_version_key(key)
        {
            apps.insert(app);
        }
    }
    if !apps.is_empty() {
        for (k, e) in s.scan(keys::DEPLOYMENTS) {
            if let Record::Deployment(d) = &e.record
                && d.affected_apps.iter().chain(&d.affected_pods).any(|a| apps.contains(a))
            {
                deployments.insert(k[keys::DEPLOYMENTS.len()..].to_string());
            }
        }
    }
    (apps, deployments)
}
