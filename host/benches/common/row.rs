//! One result row: ours against a peer (and a floor), the goal it is held to, and its JSON
//! form, the line `host/benches/report.py` reads.
//!
//! The JSON field names and their order are report.py's contract; this module only builds and
//! serialises rows, and writes nowhere (`emit` does).

use serde::{Serialize, Serializer};

/// Which way a number is better.
#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Lower,
    Higher,
}

/// What a goal is about: `ours / peer`, `ours` itself, or `ours - peer`.
#[derive(Clone, Copy)]
pub enum Goal {
    None,
    /// `ours / peer <= x`
    RatioAtMost(f64),
    /// `ours / peer >= x`
    RatioAtLeast(f64),
    /// `ours <= x` (in the row's unit)
    OursAtMost(f64),
    /// `ours - peer <= x` (in the row's unit)
    DiffAtMost(f64),
}

/// One row of the results: ours against a peer (and a floor, where there is one).
pub struct Row {
    pub name: String,
    pub unit: &'static str,
    pub better: Better,
    pub ours: f64,
    pub ours_name: String,
    pub peer: Option<f64>,
    pub peer_name: String,
    pub floor: Option<f64>,
    pub floor_name: String,
    pub goal: Goal,
    pub note: String,
}

impl Row {
    pub fn new(name: impl Into<String>, unit: &'static str, better: Better, ours: f64) -> Self {
        Self {
            name: name.into(),
            unit,
            better,
            ours,
            ours_name: String::new(),
            peer: None,
            peer_name: String::new(),
            floor: None,
            floor_name: String::new(),
            goal: Goal::None,
            note: String::new(),
        }
    }

    pub fn ours_is(mut self, what: impl Into<String>) -> Self {
        self.ours_name = what.into();
        self
    }

    pub fn peer(mut self, what: impl Into<String>, value: f64) -> Self {
        self.peer_name = what.into();
        self.peer = Some(value);
        self
    }

    pub fn floor(mut self, what: impl Into<String>, value: f64) -> Self {
        self.floor_name = what.into();
        self.floor = Some(value);
        self
    }

    pub fn goal(mut self, goal: Goal) -> Self {
        self.goal = goal;
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        self.peer.filter(|p| *p != 0.0).map(|p| self.ours / p)
    }

    /// The goal as report.py takes it apart: what it is on, the comparison, the bound, and
    /// the text shown in the table.
    fn goal_parts(&self) -> Option<(&'static str, &'static str, f64, String)> {
        let unit = self.unit;
        match self.goal {
            Goal::None => None,
            Goal::RatioAtMost(x) => Some(("ratio", "<=", x, format!("ratio <= {x}"))),
            Goal::RatioAtLeast(x) => Some(("ratio", ">=", x, format!("ratio >= {x}"))),
            Goal::OursAtMost(x) => Some(("ours", "<=", x, format!("ours <= {x} {unit}"))),
            Goal::DiffAtMost(x) => Some((
                "diff",
                "<=",
                x,
                format!("ours <= {} + {x} {unit}", self.peer_name_or("peer")),
            )),
        }
    }

    pub(super) fn peer_name_or<'a>(&'a self, default: &'a str) -> &'a str {
        if self.peer_name.is_empty() {
            default
        } else {
            &self.peer_name
        }
    }

    pub fn meets_goal(&self) -> Option<bool> {
        match self.goal {
            Goal::None => None,
            Goal::RatioAtMost(x) => self.ratio().map(|r| r <= x),
            Goal::RatioAtLeast(x) => self.ratio().map(|r| r >= x),
            Goal::OursAtMost(x) => Some(self.ours <= x),
            Goal::DiffAtMost(x) => self.peer.map(|p| self.ours - p <= x),
        }
    }

    /// The row as one line of JSON, tagged with its bench.
    pub fn to_json(&self, bench: &str) -> String {
        let goal = self.goal_parts();
        let json = Json {
            bench,
            name: &self.name,
            ours: Some(self.ours),
            peer: self.peer,
            unit: self.unit,
            ratio: self.ratio(),
            goal: goal.as_ref().map(|g| g.3.as_str()),
            meets_goal: self.meets_goal(),
            goal_on: goal.as_ref().map(|g| g.0),
            goal_op: goal.as_ref().map(|g| g.1),
            goal_value: goal.as_ref().map(|g| g.2),
            better: self.better,
            ours_name: &self.ours_name,
            peer_name: &self.peer_name,
            floor: self.floor,
            floor_name: &self.floor_name,
            note: &self.note,
        };
        serde_json::to_string(&json).expect("a row serialises")
    }
}

/// The line report.py reads, field by field in its order; `None` is `null`.
#[derive(Serialize)]
struct Json<'a> {
    bench: &'a str,
    name: &'a str,
    #[serde(serialize_with = "number")]
    ours: Option<f64>,
    #[serde(serialize_with = "number")]
    peer: Option<f64>,
    unit: &'a str,
    #[serde(serialize_with = "number")]
    ratio: Option<f64>,
    goal: Option<&'a str>,
    meets_goal: Option<bool>,
    goal_on: Option<&'a str>,
    goal_op: Option<&'a str>,
    #[serde(serialize_with = "number")]
    goal_value: Option<f64>,
    better: Better,
    ours_name: &'a str,
    peer_name: &'a str,
    #[serde(serialize_with = "number")]
    floor: Option<f64>,
    floor_name: &'a str,
    note: &'a str,
}

/// A measured number to six decimals (more would be float noise, not precision), a whole one
/// as an integer; `null` when absent or not finite.
fn number<S: Serializer>(value: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    // Below 2^53 every whole f64 is exactly an i64; above it there are no decimals to round.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    let whole = |x: f64| x.fract() == 0.0 && x.abs() < EXACT;
    match value.filter(|x| x.is_finite()) {
        None => s.serialize_none(),
        Some(x) if whole(x) => s.serialize_i64(x as i64),
        Some(x) if x.abs() >= EXACT => s.serialize_f64(x),
        Some(x) => match (x * 1e6).round() / 1e6 {
            x if whole(x) => s.serialize_i64(x as i64),
            x => s.serialize_f64(x),
        },
    }
}
