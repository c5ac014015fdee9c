//! Bucketing, distribution and rollout, bit-for-bit Flagr (`flagr-spec.md` §3.4): any drift
//! here moves existing users to other variants.
//!
//! Must not touch: constraints and segment order (that is [`super::compiled`]).

use std::io::Write;

use crate::flag::{Distribution, Id};

/// How many buckets entities fall into.
pub const TOTAL_BUCKETS: u32 = 1000;

/// Flagr's bucket of an entity for a flag: `crc32_ieee(decimal flag id ++ entity id) % 1000`.
pub fn bucket(flag_id: Id, entity_id: &str) -> u32 {
    // An i64 prints in at most 20 bytes, so the salt fits on the stack.
    let mut digits = [0_u8; 20];
    let mut rest = &mut digits[..];
    let written = match write!(rest, "{flag_id}") {
        Ok(()) => 20 - rest.len(),
        Err(_) => 0,
    };
    salted_bucket(&digits[..written], entity_id)
}

/// The bucket with the flag id already printed, as compiled flags keep it.
pub(super) fn salted_bucket(salt: &[u8], entity_id: &str) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(salt);
    hasher.update(entity_id.as_bytes());
    hasher.finalize() % TOTAL_BUCKETS
}

/// A segment's distribution as Flagr prepares it: variant ids in variant-id order and the
/// running total of percent × 10, so 50/50 is `[500, 1000]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DistributionArray {
    pub(super) variant_ids: Box<[Id]>,
    pub(super) accumulated: Box<[i64]>,
}

/// What the distribution and rollout decided for one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rollout {
    EmptyEntityId,
    ZeroPercent,
    NoDistribution,
    Bucketed {
        bucket: u32,
        /// `None` only when the percents add up to less than 100 and the bucket lies past
        /// them; Flagr indexes past its array there and fails the request instead.
        variant_id: Option<Id>,
        assigned: bool,
    },
}

impl Rollout {
    /// The variant the entity gets, if any.
    pub(super) fn variant_id(self) -> Option<Id> {
        match self {
            Rollout::Bucketed {
                variant_id,
                assigned: true,
                ..
            } => variant_id,
            _ => None,
        }
    }
}

impl DistributionArray {
    pub(super) fn new(distributions: &[Distribution]) -> Self {
        let mut ordered: Vec<&Distribution> = distributions.iter().collect();
        // Flagr loads distributions ordered by variant id; that order drives bucketing.
        ordered.sort_by_key(|distribution| distribution.variant_id);
        let mut total = 0;
        let accumulated = ordered
            .iter()
            .map(|distribution| {
                total += distribution.percent * i64::from(TOTAL_BUCKETS / 100);
                total
            })
            .collect();
        DistributionArray {
            variant_ids: ordered.iter().map(|d| d.variant_id).collect(),
            accumulated,
        }
    }

    /// Flagr's `Rollout`: pick the variant whose range holds the entity's bucket, then keep it
    /// only for the first `rollout_percent` of that range (a prefix, so raising the percent
    /// only adds entities).
    pub(super) fn rollout(&self, salt: &[u8], entity_id: &str, rollout_percent: i64) -> Rollout {
        if entity_id.is_empty() {
            return Rollout::EmptyEntityId;
        }
        if rollout_percent == 0 {
            return Rollout::ZeroPercent;
        }
        if self.variant_ids.is_empty() {
            return Rollout::NoDistribution;
        }
        let bucket = salted_bucket(salt, entity_id);
        let position = i64::from(bucket);
        // The first range whose running total exceeds the bucket.
        let index = self.accumulated.partition_point(|&total| total <= position);
        let Some(&variant_id) = self.variant_ids.get(index) else {
            return Rollout::Bucketed {
                bucket,
                variant_id: None,
                assigned: false,
            };
        };
        let assigned = rollout_percent == 100 || {
            let low = index.checked_sub(1).map_or(0, |i| self.accumulated[i]);
            let high = self.accumulated[index];
            let room = (high - low - 1).max(0);
            100 * (position - low) <= room * rollout_percent
        };
        Rollout::Bucketed {
            bucket,
            variant_id: Some(variant_id),
            assigned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn distribution(variant_id: Id, percent: i64) -> Distribution {
        Distribution {
            id: variant_id * 10,
            percent,
            variant_id,
            variant_key: format!("v{variant_id}"),
        }
    }

    #[test]
    fn buckets_match_flagr_vectors() {
        assert_eq!(bucket(1, "123"), 352);
        assert_eq!(bucket(1, "user-1"), 935);
        assert_eq!(bucket(42, "abc"), 289);
        assert_eq!(crc32fast::hash(b"1123"), 517_667_352);
        assert_eq!(crc32fast::hash(b"1user-1"), 1_553_765_935);
        assert_eq!(crc32fast::hash(b"42abc"), 46_416_289);
    }

    #[test]
    fn accumulates_by_variant_id() {
        let array = DistributionArray::new(&[distribution(7, 30), distribution(3, 70)]);
        assert_eq!(&*array.variant_ids, &[3, 7]);
        assert_eq!(&*array.accumulated, &[700, 1000]);
    }

    #[test]
    fn spec_example_half_rollout_misses_bucket_352() {
        // 50/50 at 50% rollout, flag 1, entity "123": bucket 352 lies in [0, 500), and
        // 100 * 352 = 35200 > 499 * 50 = 24950, so no variant.
        let array = DistributionArray::new(&[distribution(1, 50), distribution(2, 50)]);
        assert_eq!(
            array.rollout(b"1", "123", 50),
            Rollout::Bucketed {
                bucket: 352,
                variant_id: Some(1),
                assigned: false
            }
        );
        assert_eq!(array.rollout(b"1", "123", 100).variant_id(), Some(1));
        // Bucket 935 is in the second range: 100 * 435 = 43500 > 24950 as well.
        assert_eq!(array.rollout(b"1", "user-1", 50).variant_id(), None);
        assert_eq!(array.rollout(b"1", "user-1", 90).variant_id(), Some(2));
    }

    #[test]
    fn edge_cases_yield_no_variant() {
        let array = DistributionArray::new(&[distribution(1, 100)]);
        assert_eq!(array.rollout(b"1", "", 100), Rollout::EmptyEntityId);
        assert_eq!(array.rollout(b"1", "x", 0), Rollout::ZeroPercent);
        assert_eq!(
            DistributionArray::new(&[]).rollout(b"1", "x", 100),
            Rollout::NoDistribution
        );
        // Percents that do not reach 100 leave the upper buckets without a variant.
        let short = DistributionArray::new(&[distribution(1, 10)]);
        assert_eq!(short.rollout(b"1", "123", 100).variant_id(), None);
    }

    #[test]
    fn zero_percent_variants_take_no_buckets() {
        let array = DistributionArray::new(&[distribution(1, 0), distribution(2, 100)]);
        assert_eq!(array.rollout(b"1", "123", 100).variant_id(), Some(2));
    }
}
