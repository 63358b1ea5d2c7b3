//! Pacer's reconcilers: the controller runtime, the app reconciler, the Mesos scheduler driver.
