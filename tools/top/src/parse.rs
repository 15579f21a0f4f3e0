//! Prometheus text exposition → samples.
//!
//! Handles the lines `metrics-exporter-prometheus` writes: `# TYPE`/`# HELP` comments, blank
//! lines and `name{label="value",...} value [timestamp]` with escaped label values. Histograms
//! stay as their `_bucket`/`_sum`/`_count` samples; [`Scrape::histogram`] gathers them.

use crate::error::ParseError;
use crate::histogram::Histogram;

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name (with `_bucket`, `_sum`, `_count` suffixes as written).
    pub name: String,
    /// Labels in the order written.
    pub labels: Vec<(String, String)>,
    /// The value (`+Inf`, `-Inf` and `NaN` included).
    pub value: f64,
}

impl Sample {
    /// The value of label `key`, if present.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn matches(&self, name: &str, filter: &[(&str, &str)]) -> bool {
        self.name == name && filter.iter().all(|(k, v)| self.label(k) == Some(*v))
    }
}

/// All samples of one scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    /// Samples in the order written.
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// Parses exposition text.
    ///
    /// # Errors
    /// The first line that is neither blank, a comment nor a sample.
    ///
    /// # Examples
    /// ```
    /// use sedaflow_top::Scrape;
    /// let s = Scrape::parse("# TYPE x counter\nx{stage=\"a\"} 3\nx{stage=\"b\"} 4\n").unwrap();
    /// assert_eq!(s.sum("x", &[("stage", "b")]), Some(4.0));
    /// assert_eq!(s.sum("x", &[]), Some(7.0));
    /// assert_eq!(s.sum("y", &[]), None);
    /// ```
    pub fn parse(text: &str) -> Result<Scrape, ParseError> {
        let mut samples = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            samples.push(parse_line(line).map_err(|reason| ParseError {
                line: i + 1,
                reason,
            })?);
        }
        Ok(Scrape { samples })
    }

    /// Samples named `name` carrying every label in `filter`.
    pub fn select<'a>(
        &'a self,
        name: &'a str,
        filter: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.matches(name, filter))
    }

    /// Sum of the matching samples (for example a counter over all its `reason`s); `None`
    /// when there are none.
    pub fn sum(&self, name: &str, filter: &[(&str, &str)]) -> Option<f64> {
        self.select(name, filter)
            .map(|s| s.value)
            .fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
    }

    /// The histogram `name` (its `_bucket`, `_sum` and `_count` samples) restricted to
    /// `filter`; `None` when it has no buckets.
    pub fn histogram(&self, name: &str, filter: &[(&str, &str)]) -> Option<Histogram> {
        let bucket = format!("{name}_bucket");
        let mut buckets: Vec<(f64, f64)> = self
            .select(&bucket, filter)
            .filter_map(|s| Some((parse_value(s.label("le")?).ok()?, s.value)))
            .collect();
        if buckets.is_empty() {
            return None;
        }
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        Some(Histogram {
            buckets,
            sum: self.sum(&format!("{name}_sum"), filter).unwrap_or(0.0),
            count: self.sum(&format!("{name}_count"), filter).unwrap_or(0.0),
        })
    }
}

fn parse_line(line: &str) -> Result<Sample, &'static str> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or("no value")?;
    let name = &line[..name_end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return Err("invalid metric name");
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let (parsed, tail) = parse_labels(after)?;
        labels = parsed;
        rest = tail;
    }
    let value = rest.split_whitespace().next().ok_or("no value")?;
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value: parse_value(value).map_err(|()| "invalid value")?,
    })
}

/// Parses `k="v",k2="v2"}` and returns the labels and what follows the brace.
type Labels = Vec<(String, String)>;

fn parse_labels(mut s: &str) -> Result<(Labels, &str), &'static str> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start_matches([' ', ',']);
        if let Some(tail) = s.strip_prefix('}') {
            return Ok((labels, tail));
        }
        let eq = s.find('=').ok_or("label without value")?;
        let key = s[..eq].trim().to_owned();
        let body = s[eq + 1..]
            .trim_start()
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = body.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value"),
                },
                Some((_, c)) => value.push(c),
                None => return Err("unterminated label value"),
            }
        };
        labels.push((key, value));
        s = &body[end + 1..];
    }
}

fn parse_value(s: &str) -> Result<f64, ()> {
    match s {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_labels_escapes_and_specials() {
        let s = Scrape::parse(concat!(
            "# HELP a something\n",
            "# TYPE a gauge\n",
            "a 1.5\n",
            "\n",
            "b{x=\"q\\\"u\\\\o\\nte\",y=\"2\"} -3e2 1700000000\n",
            "c_bucket{le=\"+Inf\"} 7\n",
        ))
        .unwrap();
        assert_eq!(s.samples.len(), 3);
        assert_eq!(s.samples[0].name, "a");
        assert_eq!(s.samples[0].value, 1.5);
        assert_eq!(s.samples[1].label("x"), Some("q\"u\\o\nte"));
        assert_eq!(s.samples[1].label("y"), Some("2"));
        assert_eq!(s.samples[1].value, -300.0);
        assert_eq!(s.samples[2].label("le"), Some("+Inf"));
    }

    #[test]
    fn refuses_broken_lines_with_their_number() {
        assert_eq!(Scrape::parse("a 1\nb{x=\"1\" 2\n").unwrap_err().line, 2);
        assert_eq!(Scrape::parse("a\n").unwrap_err().reason, "no value");
        assert_eq!(Scrape::parse("a x\n").unwrap_err().reason, "invalid value");
        assert_eq!(
            Scrape::parse("a{b=1} 2\n").unwrap_err().reason,
            "label value not quoted"
        );
    }

    #[test]
    fn gathers_a_histogram_by_label() {
        let s = Scrape::parse(concat!(
            "h_bucket{stage=\"a\",le=\"0.1\"} 1\n",
            "h_bucket{stage=\"a\",le=\"+Inf\"} 4\n",
            "h_bucket{stage=\"a\",le=\"1\"} 3\n",
            "h_bucket{stage=\"b\",le=\"1\"} 9\n",
            "h_sum{stage=\"a\"} 2.5\n",
            "h_count{stage=\"a\"} 4\n",
        ))
        .unwrap();
        let h = s.histogram("h", &[("stage", "a")]).unwrap();
        assert_eq!(
            h.buckets,
            vec![(0.1, 1.0), (1.0, 3.0), (f64::INFINITY, 4.0)]
        );
        assert_eq!((h.sum, h.count), (2.5, 4.0));
        assert!(s.histogram("h", &[("stage", "c")]).is_none());
    }
}
