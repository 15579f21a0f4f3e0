//! The engine's series in the Prometheus text format, gathered family by family.
//!
//! The text format wants every sample of a family together under one `# HELP` and `# TYPE`,
//! while a scrape walks pipeline by pipeline and stage by stage: samples are appended to their
//! family's lines as they come, and the families are written out at the end.

use std::fmt::{Display, Write};

/// A metric family: name, help text and type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Metric {
    pub(crate) name: &'static str,
    help: &'static str,
    kind: &'static str,
}

impl Metric {
    pub(crate) const fn counter(name: &'static str, help: &'static str) -> Self {
        Metric {
            name,
            help,
            kind: "counter",
        }
    }

    pub(crate) const fn gauge(name: &'static str, help: &'static str) -> Self {
        Metric {
            name,
            help,
            kind: "gauge",
        }
    }

    pub(crate) const fn histogram(name: &'static str, help: &'static str) -> Self {
        Metric {
            name,
            help,
            kind: "histogram",
        }
    }
}

/// Samples gathered for one scrape, by family in the order families were first seen.
#[derive(Default)]
pub(crate) struct Exposition {
    families: Vec<(Metric, String)>,
}

impl Exposition {
    /// The sample lines of `metric`'s family, to append to.
    pub(crate) fn family(&mut self, metric: Metric) -> &mut String {
        let at = match self
            .families
            .iter()
            .position(|(m, _)| m.name == metric.name)
        {
            Some(i) => i,
            None => {
                self.families.push((metric, String::new()));
                self.families.len() - 1
            }
        };
        &mut self.families[at].1
    }

    /// Appends `name{labels} value` (`labels` rendered by [`labels`], possibly empty).
    pub(crate) fn sample(&mut self, metric: Metric, labels: &str, value: impl Display) {
        let lines = self.family(metric);
        let _ = if labels.is_empty() {
            writeln!(lines, "{} {value}", metric.name)
        } else {
            writeln!(lines, "{}{{{labels}}} {value}", metric.name)
        };
    }

    /// Writes every family with its `# HELP` and `# TYPE` lines.
    pub(crate) fn write(self, out: &mut String) {
        for (m, lines) in self.families {
            let _ = writeln!(out, "# HELP {} {}", m.name, m.help);
            let _ = writeln!(out, "# TYPE {} {}", m.name, m.kind);
            out.push_str(&lines);
            out.push('\n');
        }
    }
}

/// `k="v",k2="v2"`, values escaped as the text format wants.
pub(crate) fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push(',');
        }
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(out, "{k}=\"{v}\"");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Metric = Metric::counter("a_total", "As.");
    const B: Metric = Metric::gauge("b", "Bs.");

    #[test]
    fn samples_are_written_together_under_their_family_in_first_seen_order() {
        let mut ex = Exposition::default();
        ex.sample(A, &labels(&[("pipeline", "p"), ("stage", "x")]), 1);
        ex.sample(B, "", 0.5);
        ex.sample(A, &labels(&[("pipeline", "q\"\\\n")]), 2u64);
        let mut out = String::new();
        ex.write(&mut out);
        assert_eq!(
            out,
            "# HELP a_total As.\n# TYPE a_total counter\n\
             a_total{pipeline=\"p\",stage=\"x\"} 1\n\
             a_total{pipeline=\"q\\\"\\\\\\n\"} 2\n\n\
             # HELP b Bs.\n# TYPE b gauge\nb 0.5\n\n"
        );
    }
}
