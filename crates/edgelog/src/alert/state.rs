//! One state machine per group: OK -> PENDING -> FIRING -> OK. A group
//! moves only on evidence: an evaluation's row for it (or, when the rule
//! says so, the lack of one). Time passing alone never recovers a group.

use serde::{Deserialize, Serialize};

use super::rules::Missing;

/// Where a group stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Phase {
    /// Healthy, or never seen failing.
    #[default]
    Ok,
    /// `fire` holds, not yet for `pending`.
    Pending,
    /// Failing: notified.
    Firing,
}

impl Phase {
    /// As shown: OK, PENDING, FIRING.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Ok => "OK",
            Phase::Pending => "PENDING",
            Phase::Firing => "FIRING",
        }
    }
}

/// One group's state, kept between rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GroupState {
    /// Where it stands.
    pub phase: Phase,
    /// When it entered this phase (epoch ms, evaluation time).
    pub since_ms: i64,
    /// The last evaluation that had a row for it.
    pub seen_ms: Option<i64>,
    /// Its row's values then.
    pub values: serde_json::Map<String, serde_json::Value>,
    /// Since when `recover` has held while FIRING (for `keep_firing`).
    pub recovering_since_ms: Option<i64>,
    /// Notified transitions so far: the message id is `rule/group/sequence`.
    pub sequence: u64,
}

impl GroupState {
    /// Its row's values as shown to people: `key=value` pairs, space separated.
    pub fn values_text(&self) -> String {
        let pairs: Vec<String> = self
            .values
            .iter()
            .map(|(k, v)| format!("{k}={}", crate::alert::eval::shown(v)))
            .collect();
        pairs.join(" ")
    }
}

/// What one evaluation says of one group.
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    /// A row: the conditions' values (NULL is false) and the row.
    Row {
        /// `fire` is true.
        fire: bool,
        /// `recover` is true.
        recover: bool,
        /// The result row.
        values: serde_json::Map<String, serde_json::Value>,
    },
    /// No row for a group seen before.
    Absent,
}

/// How a rule's timing shapes its state machine.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long `fire` must hold before FIRING.
    pub pending_ms: i64,
    /// How long `recover` must hold before a FIRING group is OK.
    pub keep_firing_ms: i64,
    /// What an absent row means.
    pub missing: Missing,
}

/// A change worth a message: into FIRING, or out of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// The phase left.
    pub from: Phase,
    /// The phase entered.
    pub to: Phase,
    /// The group's sequence number after it (part of the message id).
    pub sequence: u64,
}

/// Moves `st` by one evaluation at `at_ms`; the transition to notify, if
/// any (PENDING comes and goes silently).
pub fn step(timing: Timing, st: &mut GroupState, evidence: Evidence, at_ms: i64) -> Option<Transition> {
    let (fire, recover) = match evidence {
        Evidence::Row { fire, recover, values } => {
            st.seen_ms = Some(at_ms);
            st.values = values;
            (fire, recover)
        }
        Evidence::Absent => match timing.missing {
            // `fire` must hold for `pending`: no row is not holding.
            Missing::Keep if st.phase == Phase::Pending => {
                st.phase = Phase::Ok;
                st.since_ms = at_ms;
                return None;
            }
            Missing::Keep => return None,
            Missing::Ok => (false, true),
            Missing::Fire => (true, false),
        },
    };
    let before = st.phase;
    let enter = |st: &mut GroupState, phase: Phase| {
        st.phase = phase;
        st.since_ms = at_ms;
        st.recovering_since_ms = None;
    };
    match st.phase {
        Phase::Ok if fire => {
            enter(st, Phase::Pending);
            if timing.pending_ms == 0 {
                enter(st, Phase::Firing);
            }
        }
        Phase::Ok => {}
        Phase::Pending if fire => {
            if at_ms - st.since_ms >= timing.pending_ms {
                enter(st, Phase::Firing);
            }
        }
        // `fire` did not hold for `pending`: it starts again next time.
        Phase::Pending => enter(st, Phase::Ok),
        Phase::Firing if fire => st.recovering_since_ms = None,
        Phase::Firing if recover => {
            let from = *st.recovering_since_ms.get_or_insert(at_ms);
            if at_ms - from >= timing.keep_firing_ms {
                enter(st, Phase::Ok);
            }
        }
        // Between the thresholds: neither fails nor recovers.
        Phase::Firing => st.recovering_since_ms = None,
    }
    let notify = match (before, st.phase) {
        (Phase::Firing, Phase::Ok) => true,
        (b, Phase::Firing) => b != Phase::Firing,
        _ => false,
    };
    notify.then(|| {
        st.sequence += 1;
        Transition {
            from: before,
            to: st.phase,
            sequence: st.sequence,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn row(fire: bool, recover: bool) -> Evidence {
        Evidence::Row {
            fire,
            recover,
            values: serde_json::Map::new(),
        }
    }

    fn timing(pending: i64, keep: i64, missing: Missing) -> Timing {
        Timing {
            pending_ms: pending * MIN,
            keep_firing_ms: keep * MIN,
            missing,
        }
    }

    /// The phases after each minute's evidence, and the transitions.
    fn run(t: Timing, evidence: &[Evidence]) -> (Vec<Phase>, Vec<(i64, Phase)>) {
        let mut st = GroupState::default();
        let mut phases = Vec::new();
        let mut sent = Vec::new();
        for (i, e) in evidence.iter().enumerate() {
            let at = i as i64 * MIN;
            if let Some(tr) = step(t, &mut st, e.clone(), at) {
                sent.push((i as i64, tr.to));
            }
            phases.push(st.phase);
        }
        (phases, sent)
    }

    #[test]
    fn pending_must_hold() {
        let t = timing(5, 0, Missing::Keep);
        // A 2-minute blip: nothing.
        let blip = [row(true, false), row(true, false), row(false, true), row(false, true)];
        assert!(run(t, &blip).1.is_empty());
        // Six minutes of it: FIRING once, at the fifth minute after the first.
        let burst: Vec<Evidence> = (0..7).map(|_| row(true, false)).collect();
        assert_eq!(run(t, &burst).1, vec![(5, Phase::Firing)]);
    }

    #[test]
    fn pending_does_not_hold_across_a_gap() {
        let t = timing(10, 0, Missing::Keep);
        let mut e = vec![row(true, false)];
        e.extend((0..30).map(|_| Evidence::Absent));
        e.push(row(true, false));
        let (phases, sent) = run(t, &e);
        assert!(sent.is_empty());
        assert_eq!(phases.last(), Some(&Phase::Pending));
    }

    #[test]
    fn hysteresis_gives_one_pair() {
        let t = timing(0, 0, Missing::Keep);
        // Flapping between the thresholds after firing: no recovery until
        // `recover` is shown.
        let e = [
            row(true, false),
            row(false, false),
            row(true, false),
            row(false, false),
            row(false, true),
        ];
        assert_eq!(run(t, &e).1, vec![(0, Phase::Firing), (4, Phase::Ok)]);
    }

    #[test]
    fn an_empty_window_recovers_nothing() {
        let t = timing(0, 0, Missing::Keep);
        let e = [row(true, false), Evidence::Absent, Evidence::Absent, Evidence::Absent];
        let (phases, sent) = run(t, &e);
        assert_eq!(phases.last(), Some(&Phase::Firing));
        assert_eq!(sent, vec![(0, Phase::Firing)]);
        // Unless the rule says absence is health.
        let (_, sent) = run(timing(0, 0, Missing::Ok), &e);
        assert_eq!(sent, vec![(0, Phase::Firing), (1, Phase::Ok)]);
        // Or failure.
        let (_, sent) = run(timing(0, 0, Missing::Fire), &[Evidence::Absent]);
        assert_eq!(sent, vec![(0, Phase::Firing)]);
    }

    #[test]
    fn keep_firing_waits_for_recovery_to_hold() {
        let t = timing(0, 3, Missing::Keep);
        let e = [
            row(true, false),
            row(false, true),
            row(false, true),
            row(true, false),
            row(false, true),
            row(false, true),
            row(false, true),
            row(false, true),
        ];
        assert_eq!(run(t, &e).1, vec![(0, Phase::Firing), (7, Phase::Ok)]);
    }

    #[test]
    fn sequence_counts_messages() {
        let t = timing(0, 0, Missing::Keep);
        let mut st = GroupState::default();
        let seqs: Vec<u64> = [row(true, false), row(false, true), row(true, false)]
            .into_iter()
            .enumerate()
            .filter_map(|(i, e)| step(t, &mut st, e, i as i64).map(|tr| tr.sequence))
            .collect();
        assert_eq!(seqs, vec![1, 2, 3]);
    }
}
