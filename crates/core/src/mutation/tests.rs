use super::*;
use time::macros::datetime;

fn origin() -> Origin {
    Origin {
        actor: "alice@example.com".into(),
        at: datetime!(2026-11-22 10:00:00.123456 UTC),
        event_id: "evt".into(),
        random_key: "kabcdefghijk12345".into(),
    }
}

fn create(ids: &mut IdCounters, template: Option<&str>) -> StoredFlag {
    let command = Command::CreateFlag {
        key: "checkout".into(),
        description: "d".into(),
        template: template.map(Into::into),
    };
    apply(None, command, ids, &SharedIds::default(), &origin())
        .unwrap()
        .after
}

fn kinds(outcome: &Outcome) -> Vec<EventType> {
    outcome.events.iter().map(|event| event.kind).collect()
}

fn run(flag: &StoredFlag, command: Command, ids: &mut IdCounters) -> Result<Outcome, MutationError> {
    apply(Some(flag), command, ids, &SharedIds::default(), &origin())
}

#[test]
fn create_stamps_actor_time_and_sequence() {
    let mut ids = IdCounters::default();
    let outcome = apply(
        None,
        Command::CreateFlag {
            key: String::new(),
            description: "d".into(),
            template: None,
        },
        &mut ids,
        &SharedIds::default(),
        &origin(),
    )
    .unwrap();
    assert_eq!(kinds(&outcome), vec![EventType::FlagCreated]);
    let flag = &outcome.after.flag;
    assert_eq!(flag.key, "kabcdefghijk12345");
    assert_eq!(flag.created_by, "alice@example.com");
    assert_eq!(flag.updated_by, "alice@example.com");
    assert_eq!(flag.updated_at, datetime!(2026-11-22 10:00:00.123 UTC));
    assert!(!flag.enabled);
    assert_eq!(outcome.after.snapshot_id, 1);
    assert_eq!(ids.change, 1);
}

#[test]
fn boolean_template_adds_on_variant_segment_and_distribution() {
    let mut ids = IdCounters::default();
    let flag = create(&mut ids, Some(SIMPLE_BOOLEAN_FLAG_TEMPLATE)).flag;
    assert_eq!(flag.variants.len(), 1);
    assert_eq!(flag.variants[0].key, "on");
    let segment = &flag.segments[0];
    assert_eq!((segment.rank, segment.rollout_percent), (NEW_SEGMENT_RANK, 100));
    assert_eq!(segment.distributions[0].percent, 100);
    assert_eq!(segment.distributions[0].variant_id, flag.variants[0].id);
}

#[test]
fn unknown_template_and_bad_key_are_refused() {
    let mut ids = IdCounters::default();
    let error = apply(
        None,
        Command::CreateFlag {
            key: "k".into(),
            description: "d".into(),
            template: Some("fancy".into()),
        },
        &mut ids,
        &SharedIds::default(),
        &origin(),
    )
    .unwrap_err();
    assert_eq!(
        error,
        MutationError::Invalid("unknown value for template: fancy".into())
    );
    let error = apply(
        None,
        Command::CreateFlag {
            key: "bad key".into(),
            description: "d".into(),
            template: None,
        },
        &mut ids,
        &SharedIds::default(),
        &origin(),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot create flag. cannot create flag due to invalid key."),
        "{error}"
    );
}

#[test]
fn a_change_that_changes_nothing_is_a_no_op() {
    let mut ids = IdCounters::default();
    let flag = create(&mut ids, None);
    let before_ids = ids;
    let outcome = run(&flag, Command::SetEnabled(false), &mut ids).unwrap();
    assert!(!outcome.changed());
    assert_eq!(outcome.after, flag);
    assert_eq!(ids, before_ids);
    let patch = FlagPatch {
        description: Some("d".into()),
        ..FlagPatch::default()
    };
    assert!(!run(&flag, Command::UpdateFlag(patch), &mut ids).unwrap().changed());
}

#[test]
fn enabling_fires_enabled_and_disabling_fires_disabled() {
    let mut ids = IdCounters::default();
    let flag = create(&mut ids, None);
    let enabled = run(&flag, Command::SetEnabled(true), &mut ids).unwrap();
    assert_eq!(kinds(&enabled), vec![EventType::FlagEnabled]);
    assert_eq!(enabled.after.snapshot_id, 2);
    let disabled = run(&enabled.after, Command::SetEnabled(false), &mut ids).unwrap();
    assert_eq!(kinds(&disabled), vec![EventType::FlagDisabled]);
}

#[test]
fn deleted_flags_only_accept_restore() {
    let mut ids = IdCounters::default();
    let flag = create(&mut ids, None);
    let deleted = run(&flag, Command::Delete, &mut ids).unwrap().after;
    assert!(deleted.deleted);
    assert!(matches!(
        run(&deleted, Command::SetEnabled(true), &mut ids),
        Err(MutationError::NotFound(_))
    ));
    assert!(matches!(
        run(&deleted, Command::Delete, &mut ids),
        Err(MutationError::NotFound(_))
    ));
    let restored = run(&deleted, Command::Restore, &mut ids).unwrap();
    assert_eq!(kinds(&restored), vec![EventType::FlagRestored]);
    assert!(!run(&restored.after, Command::Restore, &mut ids).unwrap().changed());
}

#[test]
fn segment_update_names_each_kind_of_change() {
    let mut ids = IdCounters::default();
    let flag = create(&mut ids, None);
    let with_segment = run(
        &flag,
        Command::CreateSegment {
            description: "s".into(),
            rollout_percent: 10,
        },
        &mut ids,
    )
    .unwrap();
    let id = with_segment.component_id().unwrap();
    let flag = with_segment.after;
    let rollout = run(
        &flag,
        Command::UpdateSegment {
            id,
            description: "s".into(),
            rollout_percent: 20,
        },
        &mut ids,
    )
    .unwrap();
    assert_eq!(kinds(&rollout), vec![EventType::SegmentRolloutPercentUpdated]);
    let both = run(
        &flag,
        Command::UpdateSegment {
            id,
            description: "t".into(),
            rollout_percent: 20,
        },
        &mut ids,
    )
    .unwrap();
    assert_eq!(
        kinds(&both),
        vec![EventType::SegmentUpdated, EventType::SegmentRolloutPercentUpdated]
    );
    let missing = run(
        &flag,
        Command::UpdateSegment {
            id: 999,
            description: "t".into(),
            rollout_percent: 1,
        },
        &mut ids,
    );
    assert!(matches!(missing, Err(MutationError::NotFound(_))));
}

#[test]
fn reorder_sets_zero_based_ranks_and_sorts() {
    let mut ids = IdCounters::default();
    let mut flag = create(&mut ids, None);
    for name in ["a", "b"] {
        flag = run(
            &flag,
            Command::CreateSegment {
                description: name.into(),
                rollout_percent: 100,
            },
            &mut ids,
        )
        .unwrap()
        .after;
    }
    let (a, b) = (flag.flag.segments[0].id, flag.flag.segments[1].id);
    let outcome = run(&flag, Command::ReorderSegments(vec![b, a]), &mut ids).unwrap();
    let segments = &outcome.after.flag.segments;
    assert_eq!((segments[0].id, segments[0].rank), (b, 0));
    assert_eq!((segments[1].id, segments[1].rank), (a, 1));
    let moved: Vec<(EventType, Option<Id>)> = outcome
        .events
        .iter()
        .map(|event| (event.kind, event.component.id))
        .collect();
    assert_eq!(
        moved,
        [
            (EventType::SegmentUpdated, Some(b)),
            (EventType::SegmentUpdated, Some(a))
        ]
    );
    let only_a = run(&outcome.after, Command::ReorderSegments(vec![a]), &mut ids).unwrap();
    assert_eq!(only_a.events.len(), 1, "only the segment whose rank changed is updated");
    assert!(
        !run(&outcome.after, Command::ReorderSegments(vec![b, a]), &mut ids)
            .unwrap()
            .changed()
    );
    assert!(matches!(
        run(&flag, Command::ReorderSegments(vec![b, 77]), &mut ids),
        Err(MutationError::NotFound(_))
    ));
}

fn flag_with_variants_and_distribution(ids: &mut IdCounters) -> (StoredFlag, Id, Id, Id) {
    let mut flag = create(ids, None);
    for key in ["control", "treatment"] {
        flag = run(
            &flag,
            Command::CreateVariant {
                key: key.into(),
                attachment: None,
            },
            ids,
        )
        .unwrap()
        .after;
    }
    flag = run(
        &flag,
        Command::CreateSegment {
            description: "s".into(),
            rollout_percent: 100,
        },
        ids,
    )
    .unwrap()
    .after;
    let segment = flag.flag.segments[0].id;
    let (control, treatment) = (flag.flag.variants[0].id, flag.flag.variants[1].id);
    let distributions = vec![
        NewDistribution {
            variant_id: treatment,
            variant_key: "treatment".into(),
            percent: 0,
        },
        NewDistribution {
            variant_id: control,
            variant_key: "control".into(),
            percent: 100,
        },
    ];
    flag = run(
        &flag,
        Command::PutDistributions {
            segment_id: segment,
            distributions,
        },
        ids,
    )
    .unwrap()
    .after;
    (flag, segment, control, treatment)
}

#[test]
fn distributions_must_sum_to_100_and_match_variants() {
    let mut ids = IdCounters::default();
    let (flag, segment, control, treatment) = flag_with_variants_and_distribution(&mut ids);
    let ordered: Vec<Id> = flag.flag.segments[0]
        .distributions
        .iter()
        .map(|d| d.variant_id)
        .collect();
    assert_eq!(ordered, vec![control, treatment]);
    let put = |distributions| Command::PutDistributions {
        segment_id: segment,
        distributions,
    };
    let short = vec![NewDistribution {
        variant_id: control,
        variant_key: "control".into(),
        percent: 60,
    }];
    assert_eq!(
        run(&flag, put(short), &mut ids).unwrap_err(),
        MutationError::Invalid("the sum of distributions' percent 60 is not 100".into())
    );
    assert!(matches!(
        run(&flag, put(vec![]), &mut ids),
        Err(MutationError::Invalid(_))
    ));
    let wrong_key = vec![NewDistribution {
        variant_id: control,
        variant_key: "treatment".into(),
        percent: 100,
    }];
    assert!(matches!(
        run(&flag, put(wrong_key), &mut ids),
        Err(MutationError::Invalid(_))
    ));
    let foreign = vec![NewDistribution {
        variant_id: 4242,
        variant_key: "x".into(),
        percent: 100,
    }];
    assert!(matches!(
        run(&flag, put(foreign), &mut ids),
        Err(MutationError::Invalid(_))
    ));
    let same = vec![
        NewDistribution {
            variant_id: control,
            variant_key: "control".into(),
            percent: 100,
        },
        NewDistribution {
            variant_id: treatment,
            variant_key: "treatment".into(),
            percent: 0,
        },
    ];
    assert!(!run(&flag, put(same), &mut ids).unwrap().changed());
}

#[test]
fn variant_delete_is_blocked_by_a_non_zero_distribution() {
    let mut ids = IdCounters::default();
    let (flag, _, control, treatment) = flag_with_variants_and_distribution(&mut ids);
    let error = run(&flag, Command::DeleteVariant(control), &mut ids).unwrap_err();
    assert!(
        error.to_string().contains("still has non-zero distribution 100"),
        "{error}"
    );
    let deleted = run(&flag, Command::DeleteVariant(treatment), &mut ids).unwrap().after;
    assert_eq!(deleted.flag.variants.len(), 1);
    assert_eq!(deleted.flag.segments[0].distributions.len(), 1);
}

#[test]
fn variant_rename_syncs_distribution_keys_and_attachment_has_its_own_event() {
    let mut ids = IdCounters::default();
    let (flag, _, control, _) = flag_with_variants_and_distribution(&mut ids);
    let mut attachment = Map::new();
    attachment.insert("color".into(), Value::from("blue"));
    let outcome = run(
        &flag,
        Command::UpdateVariant {
            id: control,
            key: "baseline".into(),
            attachment: Some(attachment),
        },
        &mut ids,
    )
    .unwrap();
    assert_eq!(
        kinds(&outcome),
        vec![EventType::VariantUpdated, EventType::VariantAttachmentUpdated]
    );
    assert_eq!(outcome.after.flag.segments[0].distributions[0].variant_key, "baseline");
    let kept = run(
        &outcome.after,
        Command::UpdateVariant {
            id: control,
            key: "baseline".into(),
            attachment: None,
        },
        &mut ids,
    )
    .unwrap();
    assert!(!kept.changed());
    assert_eq!(kept.after.flag.variants[0].attachment.to_map()["color"], "blue");
}

#[test]
fn constraints_must_compile() {
    let mut ids = IdCounters::default();
    let (flag, segment, _, _) = flag_with_variants_and_distribution(&mut ids);
    let create = |value: &str| Command::CreateConstraint {
        segment_id: segment,
        property: "state".into(),
        operator: "EQ".into(),
        value: value.into(),
    };
    let outcome = run(&flag, create("\"CA\""), &mut ids).unwrap();
    assert_eq!(kinds(&outcome), vec![EventType::ConstraintCreated]);
    assert!(matches!(
        run(&flag, create("CA"), &mut ids),
        Err(MutationError::Invalid(_))
    ));
    let bad_operator = Command::CreateConstraint {
        segment_id: segment,
        property: "state".into(),
        operator: "LIKE".into(),
        value: "\"CA\"".into(),
    };
    assert!(matches!(
        run(&flag, bad_operator, &mut ids),
        Err(MutationError::Invalid(_))
    ));
    let regex = |value: &str| Command::CreateConstraint {
        segment_id: segment,
        property: "code".into(),
        operator: "EREG".into(),
        value: value.into(),
    };
    let Err(MutationError::Invalid(message)) = run(&flag, regex("\"(\""), &mut ids) else {
        panic!("a regex that does not compile is refused");
    };
    assert!(
        message.contains(r#"invalid regular expression "(": unclosed group"#),
        "{message}"
    );
    // Constraints that can never match are accepted, as in Flagr.
    let never = Command::CreateConstraint {
        segment_id: segment,
        property: "country".into(),
        operator: "IN".into(),
        value: "\"DE\"".into(),
    };
    assert!(run(&flag, never, &mut ids).is_ok());
}

#[test]
fn duplicate_refuses_a_source_constraint_that_does_not_compile() {
    let mut ids = IdCounters::default();
    let (mut flag, segment, _, _) = flag_with_variants_and_distribution(&mut ids);
    // As an older version stored it.
    flag.flag.segments[0].constraints.push(Constraint {
        id: 77,
        property: "code".into(),
        operator: "EREG".into(),
        value: "\"(\"".into(),
    });
    let duplicate = Command::DuplicateFlag {
        key: "copy".into(),
        description: String::new(),
    };
    let Err(MutationError::Invalid(message)) = run(&flag, duplicate, &mut ids) else {
        panic!("the copy is refused");
    };
    assert!(
        message.starts_with(&format!(
            "cannot duplicate flag. constraint 77 (code EREG \"(\") of segment {segment}"
        )),
        "{message}"
    );
}

#[test]
fn duplicate_copies_children_with_new_ids() {
    let mut ids = IdCounters::default();
    let (flag, _, _, _) = flag_with_variants_and_distribution(&mut ids);
    let flag = run(
        &flag,
        Command::AttachTag(Tag {
            id: 5,
            value: "team a".into(),
        }),
        &mut ids,
    )
    .unwrap()
    .after;
    let outcome = run(
        &flag,
        Command::DuplicateFlag {
            key: "copy".into(),
            description: String::new(),
        },
        &mut ids,
    )
    .unwrap();
    assert!(outcome.before.is_none());
    let clone = outcome.after.flag;
    assert_ne!(clone.id, flag.flag.id);
    assert_eq!(clone.description, "d (cloned)");
    assert_eq!(clone.tags, flag.flag.tags);
    assert_eq!(clone.variants.len(), 2);
    let distribution = &clone.segments[0].distributions[0];
    assert!(
        clone
            .variants
            .iter()
            .any(|v| v.id == distribution.variant_id && v.key == distribution.variant_key)
    );
    assert!(flag.flag.variants.iter().all(|v| v.id != distribution.variant_id));
}

#[test]
fn a_key_known_elsewhere_keeps_its_flag_and_variant_ids() {
    let mut ids = IdCounters {
        flag: 40,
        variant: 90,
        ..IdCounters::default()
    };
    let shared = SharedIds {
        flag: Some(7),
        variants: vec![("on".into(), 12), ("off".into(), 13)],
    };
    let command = Command::CreateFlag {
        key: "checkout".into(),
        description: "d".into(),
        template: Some(SIMPLE_BOOLEAN_FLAG_TEMPLATE.into()),
    };
    let created = apply(None, command, &mut ids, &shared, &origin()).unwrap().after;
    assert_eq!(created.flag.id, 7);
    assert_eq!(created.flag.variants[0].id, 12);
    assert_eq!(created.flag.segments[0].distributions[0].variant_id, 12);
    let add = |key: &str, ids: &mut IdCounters| {
        let command = Command::CreateVariant {
            key: key.into(),
            attachment: None,
        };
        apply(Some(&created), command, ids, &shared, &origin()).unwrap().after
    };
    assert_eq!(add("off", &mut ids).flag.variants[1].id, 13);
    // A key the flag has nowhere else takes the next id.
    assert_eq!(add("maybe", &mut ids).flag.variants[1].id, 91);
    assert_eq!((ids.flag, ids.variant), (40, 91));
}
