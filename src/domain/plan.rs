//! Placement: which stages share a domain. Stages are code; domains are where threads and
//! queues are. The plan is checked once, at build.

use std::collections::HashMap;

use crate::error::BuildError;

/// A validated placement: domains in pipeline order, each a run of consecutive stages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// For each domain, the stage indices it runs, entry first.
    pub(crate) domains: Vec<Vec<usize>>,
}

impl Plan {
    /// Builds the plan: every stage its own domain, except the groups in `fused` (each a list
    /// of consecutive stage names, in declaration order).
    ///
    /// # Errors
    /// Unknown or repeated stage names, groups that are not consecutive, a keyed stage that
    /// does not lead its domain while the domain may run several lanes.
    pub(crate) fn new(
        names: &[&str],
        keyed: &[bool],
        single_lane: &[bool],
        fused: &[Vec<String>],
    ) -> Result<Plan, BuildError> {
        let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut group_of: Vec<Option<usize>> = vec![None; names.len()];
        for (g, group) in fused.iter().enumerate() {
            let mut prev: Option<usize> = None;
            for name in group {
                let &i = index
                    .get(name.as_str())
                    .ok_or_else(|| BuildError::UnknownStage(name.clone()))?;
                if group_of[i].is_some() {
                    return Err(BuildError::Placement(format!(
                        "stage `{name}` is in two domains"
                    )));
                }
                if prev.is_some_and(|p| p + 1 != i) {
                    return Err(BuildError::Placement(format!(
                        "fused stages must be consecutive; `{name}` does not follow the one before it"
                    )));
                }
                group_of[i] = Some(g);
                prev = Some(i);
            }
        }
        let mut domains: Vec<Vec<usize>> = Vec::new();
        for i in 0..names.len() {
            match (group_of[i], i.checked_sub(1).and_then(|p| group_of[p])) {
                (Some(g), Some(pg)) if g == pg => {
                    if let Some(d) = domains.last_mut() {
                        d.push(i);
                    }
                }
                _ => domains.push(vec![i]),
            }
        }
        for d in &domains {
            let entry = d[0];
            for &s in &d[1..] {
                // A keyed stage behind another would see its keys spread over the entry's lanes.
                if keyed[s] && !single_lane[entry] {
                    return Err(BuildError::Placement(format!(
                        "keyed stage `{}` is fused behind `{}`; a keyed stage must lead its domain unless the domain runs one lane",
                        names[s], names[entry]
                    )));
                }
            }
        }
        Ok(Plan { domains })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuses_consecutive_groups_and_refuses_the_rest() {
        let names = ["a", "b", "c", "d"];
        let keyed = [false, false, true, false];
        let single = [false; 4];
        let plan = Plan::new(&names, &keyed, &single, &[vec!["a".into(), "b".into()]]).unwrap();
        assert_eq!(plan.domains, vec![vec![0, 1], vec![2], vec![3]]);
        let gap = Plan::new(&names, &keyed, &single, &[vec!["a".into(), "c".into()]]);
        assert!(matches!(gap, Err(BuildError::Placement(_))));
        let keyed_behind = Plan::new(&names, &keyed, &single, &[vec!["b".into(), "c".into()]]);
        assert!(matches!(keyed_behind, Err(BuildError::Placement(_))));
        let one_lane = [false, true, false, false];
        assert!(Plan::new(&names, &keyed, &one_lane, &[vec!["b".into(), "c".into()]]).is_ok());
        let unknown = Plan::new(&names, &keyed, &single, &[vec!["x".into()]]);
        assert_eq!(unknown, Err(BuildError::UnknownStage("x".into())));
    }
}
