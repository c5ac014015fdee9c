use serde_json::Map;
use time::macros::datetime;

use super::*;
use crate::flag::{Constraint, Distribution, Tag, Variant};

fn origin() -> Origin {
    Origin {
        actor: "carol@example.com".into(),
        at: datetime!(2026-12-03 12:00 UTC),
        event_id: "evt".into(),
        random_key: String::new(),
    }
}

fn flag() -> Flag {
    Flag {
        id: 7,
        key: "checkout".into(),
        description: "new checkout".into(),
        enabled: true,
        tags: vec![Tag {
            id: 1,
            value: "web".into(),
        }],
        segments: vec![Segment {
            id: 30,
            description: "beta".into(),
            constraints: vec![Constraint {
                id: 40,
                property: "country".into(),
                operator: "EQ".into(),
                value: "\"NL\"".into(),
            }],
            distributions: vec![Distribution {
                id: 50,
                percent: 100,
                variant_id: 20,
                variant_key: "on".into(),
            }],
            rank: 0,
            rollout_percent: 20,
        }],
        variants: vec![Variant {
            id: 20,
            key: "on".into(),
            attachment: Map::new().into(),
        }],
        data_records_enabled: false,
        entity_type: String::new(),
        notes: String::new(),
        created_by: "alice@example.com".into(),
        updated_by: "alice@example.com".into(),
        updated_at: datetime!(2026-12-01 09:00 UTC),
    }
}

fn stored(flag: Flag) -> StoredFlag {
    StoredFlag {
        flag,
        deleted: false,
        snapshot_id: 3,
    }
}

fn kinds(promoted: &PromotedFlag) -> Vec<EventType> {
    promoted.outcome.events.iter().map(|event| event.kind).collect()
}

#[test]
fn a_flag_the_target_lacks_is_created_as_the_source_has_it() {
    let source = flag();
    let promoted = promote(&source, None, &origin(), origin().at).unwrap();
    assert_eq!(promoted.action, PromotionAction::Create);
    assert_eq!(kinds(&promoted), [EventType::FlagCreated, EventType::FlagEnabled]);
    let after = &promoted.outcome.after.flag;
    assert_eq!(
        (after.id, &after.segments, &after.variants),
        (7, &source.segments, &source.variants)
    );
    assert_eq!(after.updated_by, "carol@example.com");
    assert!(promoted.outcome.before.is_none());
}

#[test]
fn an_identical_target_is_unchanged_and_each_difference_is_the_event_a_manual_edit_fires() {
    let source = flag();
    let same = promote(&source, Some(&stored(source.clone())), &origin(), origin().at).unwrap();
    assert_eq!(same.action, PromotionAction::Unchanged);
    assert!(same.outcome.events.is_empty());

    let mut target = source.clone();
    target.enabled = false;
    target.segments[0].rollout_percent = 50;
    target.segments[0].constraints[0].value = "\"DE\"".into();
    target.variants.push(Variant {
        id: 21,
        key: "off".into(),
        attachment: Map::new().into(),
    });
    target.created_by = "bob@example.com".into();
    let promoted = promote(&source, Some(&stored(target)), &origin(), origin().at).unwrap();
    assert_eq!(promoted.action, PromotionAction::Update);
    assert_eq!(
        kinds(&promoted),
        [
            EventType::FlagEnabled,
            EventType::VariantDeleted,
            EventType::SegmentRolloutPercentUpdated,
            EventType::ConstraintUpdated
        ]
    );
    assert_eq!(
        promoted.outcome.after.flag.created_by, "bob@example.com",
        "the target's creator stays"
    );
}

#[test]
fn promotions_that_would_break_a_rule_are_refused() {
    let source = flag();
    let mut other_id = source.clone();
    other_id.id = 8;
    let error = promote(&source, Some(&stored(other_id)), &origin(), origin().at).unwrap_err();
    assert!(
        error.to_string().contains("flag 8 in the target environment"),
        "{error}"
    );

    let mut deleted = stored(source.clone());
    deleted.deleted = true;
    let error = promote(&source, Some(&deleted), &origin(), origin().at).unwrap_err();
    assert!(error.to_string().contains("restore it there first"), "{error}");

    let mut broken = source.clone();
    broken.segments[0].constraints[0].operator = "MATCHES".into();
    broken.segments[0].constraints[0].value = "\"(\"".into();
    let error = promote(&broken, None, &origin(), origin().at).unwrap_err();
    assert!(error.to_string().contains("does not compile"), "{error}");
}
