use proptest::prelude::*;

use super::*;

fn strategy(min: f64, over: f64) -> UpgradeStrategy {
    UpgradeStrategy {
        minimum_health_capacity: min,
        maximum_over_capacity: over,
    }
}

fn rs(kill_immediately: u32, max_capacity: u32) -> RestartStrategy {
    RestartStrategy {
        kill_immediately,
        max_capacity,
    }
}

// The four worked examples of marathon-reference.md §7, with 4 healthy instances running.
#[test]
fn keeps_all_and_doubles_capacity_with_defaults() {
    assert_eq!(restart_strategy(4, strategy(1.0, 1.0), 4, 4, false), rs(0, 8));
}

#[test]
fn kills_half_at_once_with_half_health_and_no_overcapacity() {
    assert_eq!(restart_strategy(4, strategy(0.5, 0.0), 4, 4, false), rs(2, 4));
}

#[test]
fn goes_one_over_capacity_when_no_room_is_left() {
    assert_eq!(restart_strategy(4, strategy(1.0, 0.0), 4, 4, false), rs(0, 5));
    // A resident app cannot grow its reservations: it kills one instead.
    assert_eq!(restart_strategy(4, strategy(1.0, 0.0), 4, 4, true), rs(1, 4));
}

#[test]
fn kills_everything_with_zero_health() {
    assert_eq!(restart_strategy(4, strategy(0.0, 0.0), 4, 4, false), rs(4, 4));
}

#[test]
fn kills_instances_above_the_target() {
    assert_eq!(restart_strategy(2, strategy(1.0, 1.0), 2, 5, false), rs(3, 4));
    assert_eq!(restart_strategy(3, strategy(1.0, 0.1), 3, 3, false).max_capacity, 4);
}

#[test]
fn survives_degenerate_input() {
    assert_eq!(restart_strategy(0, strategy(1.0, 1.0), 0, 0, false), rs(0, 1));
    assert_eq!(restart_strategy(0, strategy(1.0, 1.0), 0, 0, true), rs(0, 0));
    assert_eq!(restart_strategy(0, strategy(1.0, 1.0), 3, 3, true), rs(3, 0));
    let r = restart_strategy(u32::MAX, strategy(f64::NAN, 7.0), u32::MAX, u32::MAX, false);
    assert_eq!(r.max_capacity, u32::MAX);
}

fn unit() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), Just(0.5), Just(1.0), 0.0..=1.0f64]
}

proptest! {
    #[test]
    fn invariants(n in 1u32..500, min in unit(), over in unit(), healthy in 0u32..1000, extra in 0u32..1000,
                  resident in any::<bool>()) {
        let current = healthy.saturating_add(extra);
        let r = restart_strategy(n, strategy(min, over), healthy, current, resident);
        let min_healthy = (f64::from(n) * min).ceil() as u32;
        let room = (f64::from(n) * (1.0 + over)) as u32;

        // Never kill more than exist; capacity is the target at least, and at most one over.
        prop_assert!(r.kill_immediately <= current);
        prop_assert!(r.max_capacity >= n);
        prop_assert!(r.max_capacity == room || (!resident && r.max_capacity == room + 1));
        // Instances above the target are always killed.
        prop_assert!(r.kill_immediately >= current.saturating_sub(n));
        // A restart can always make progress (Marathon's own assumption).
        prop_assert!(min_healthy < r.max_capacity || healthy - r.kill_immediately.min(healthy) < r.max_capacity);
        // Without excess instances, a normal app never drops below its minimum health at once.
        if !resident && current <= n {
            prop_assert!(healthy - r.kill_immediately >= healthy.min(min_healthy));
        }
        // Immediate kills beyond the minimum health happen only to remove excess, or for a
        // resident app with no room to start anything (one below the minimum).
        if current <= n {
            prop_assert!(r.kill_immediately <= healthy.saturating_sub(min_healthy) + u32::from(resident));
        }
    }
}
