//! Which partition of the order log a symbol belongs to: FNV-1a of the symbol's text, modulo
//! the partition count. Every process of a deployment must agree on it forever (the log
//! outlives processes), so it is a fixed hash, never std's per-process random one.

use crate::matching::Symbol;

/// A partition of the order log, `0 .. partitions`.
pub type Partition = u32;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a of `bytes`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    })
}

/// The partition `symbol` is matched in, out of `partitions` (at least 1).
///
/// # Examples
///
/// ```
/// use sedaflow_stages::cluster::partition_of;
/// use sedaflow_stages::matching::Symbol;
///
/// let acme = Symbol::new("ACME").unwrap();
/// assert_eq!(partition_of(acme, 8), partition_of(acme, 8));
/// assert!(partition_of(acme, 8) < 8);
/// ```
pub fn partition_of(symbol: Symbol, partitions: u32) -> Partition {
    let n = u64::from(partitions.max(1));
    // The remainder is below `partitions`, so it fits.
    (fnv1a(symbol.as_bytes()) % n) as Partition
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_reference_values() {
        // From the FNV reference test vectors.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn spreads_symbols_over_partitions() {
        let mut seen = [0u32; 8];
        for i in 0..64 {
            let symbol = Symbol::new(&format!("S{i}")).unwrap();
            seen[partition_of(symbol, 8) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
        assert_eq!(partition_of(Symbol::new("X").unwrap(), 1), 0);
        assert_eq!(partition_of(Symbol::new("X").unwrap(), 0), 0);
    }
}
