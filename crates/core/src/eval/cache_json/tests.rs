//! The eval-cache JSON: exact export text and filters, Go's decoding rules on import, id
//! assignment, variant-key links, Flagr's validation, and the round trip through evaluation.
//!
//! Must not touch: evaluation details (those are the engine's tests).

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::eval::{CompiledFlag, EvalContext, EvalEnv, EvalSnapshot, TagsOperator};
use crate::flag::{Constraint, Distribution, Flag, Id, Segment, StoredFlag, Tag, Variant};

const UPDATED_AT: OffsetDateTime = datetime!(2026-01-02 03:04:05.678 UTC);

fn bare_flag(id: Id, key: &str) -> Flag {
    Flag {
        id,
        key: key.into(),
        description: "d".into(),
        enabled: false,
        tags: vec![],
        segments: vec![],
        variants: vec![],
        data_records_enabled: false,
        entity_type: String::new(),
        notes: String::new(),
        created_by: String::new(),
        updated_by: String::new(),
        updated_at: UPDATED_AT,
    }
}

/// A flag with one of everything, children in Bunting's orders.
fn checkout() -> Flag {
    let mut attachment = Map::new();
    attachment.insert("color".into(), json!("blue"));
    Flag {
        id: 3,
        key: "checkout".into(),
        description: "Checkout redesign".into(),
        enabled: true,
        tags: vec![Tag {
            id: 2,
            value: "web".into(),
        }],
        segments: vec![Segment {
            id: 7,
            description: "CA users".into(),
            constraints: vec![Constraint {
                id: 9,
                property: "state".into(),
                operator: "EQ".into(),
                value: r#""CA""#.into(),
            }],
            distributions: vec![
                Distribution {
                    id: 11,
                    percent: 40,
                    variant_id: 4,
                    variant_key: "off".into(),
                },
                Distribution {
                    id: 12,
                    percent: 60,
                    variant_id: 5,
                    variant_key: "on".into(),
                },
            ],
            rank: 0,
            rollout_percent: 100,
        }],
        variants: vec![
            Variant {
                id: 4,
                key: "off".into(),
                attachment: Map::new().into(),
            },
            Variant {
                id: 5,
                key: "on".into(),
                attachment: attachment.into(),
            },
        ],
        data_records_enabled: true,
        entity_type: "user".into(),
        notes: "see RFC".into(),
        created_by: "ann@example.com".into(),
        updated_by: "bob@example.com".into(),
        updated_at: UPDATED_AT,
    }
}

fn compiled(flag: Flag, snapshot_id: i64) -> CompiledFlag {
    CompiledFlag::new(flag, snapshot_id).unwrap()
}

fn exported(flags: &[CompiledFlag], filter: &ExportFilter) -> Value {
    serde_json::to_value(export(flags, filter)).unwrap()
}

fn exported_ids(flags: &[CompiledFlag], filter: &ExportFilter) -> Vec<Id> {
    let document = exported(flags, filter);
    document["Flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|flag| flag["ID"].as_i64().unwrap())
        .collect()
}

fn imported(text: &str) -> Imported {
    import(text).unwrap_or_else(|error| panic!("{error:#?}"))
}

fn import_errors(text: &str) -> Vec<String> {
    import(text).unwrap_err().errors
}

// ---------------------------------------------------------------------------------------------
// Export.

#[test]
fn exports_go_entities_with_the_flag_time_everywhere() {
    let time = "2026-01-02T03:04:05.678Z";
    assert_eq!(
        exported(&[compiled(checkout(), 42)], &ExportFilter::default()),
        json!({"Flags": [{
            "ID": 3, "CreatedAt": time, "UpdatedAt": time, "DeletedAt": null,
            "Key": "checkout", "Description": "Checkout redesign",
            "CreatedBy": "ann@example.com", "UpdatedBy": "bob@example.com", "Enabled": true,
            "Segments": [{
                "ID": 7, "CreatedAt": time, "UpdatedAt": time, "DeletedAt": null,
                "FlagID": 3, "Description": "CA users", "Rank": 0, "RolloutPercent": 100,
                "Constraints": [{
                    "ID": 9, "CreatedAt": time, "UpdatedAt": time, "DeletedAt": null,
                    "SegmentID": 7, "Property": "state", "Operator": "EQ", "Value": "\"CA\""
                }],
                "Distributions": [
                    {
                        "ID": 11, "CreatedAt": time, "UpdatedAt": time, "DeletedAt": null,
                        "SegmentID": 7, "VariantID": 4, "VariantKey": "off", "Percent": 40
                    },
                    {
                        "ID": 12, "CreatedAt": time, "UpdatedAt": time, "DeletedAt": null,
                        "SegmentID": 7, "VariantID": 5, "VariantKey": "on", "Percent": 60
                    }
                ]
            }],
            "Variants": [
                {
                    "ID": 4, "CreatedAt": time, "UpdatedAt": time, "DeletedAt": null,
                    "FlagID": 3, "Key": "off", "Attachment": {}
                },
                {
                    "ID": 5, "CreatedAt": time, "UpdatedAt": time, "DeletedAt": null,
                    "FlagID": 3, "Key": "on", "Attachment": {"color": "blue"}
                }
            ],
            "Tags": [{
                "ID": 2, "CreatedAt": time, "UpdatedAt": time, "DeletedAt": null,
                "Value": "web", "Flags": null
            }],
            "SnapshotID": 42, "Notes": "see RFC", "DataRecordsEnabled": true, "EntityType": "user"
        }]})
    );
}

#[test]
fn exported_text_keeps_go_field_order() {
    let text = serde_json::to_string(&export(&[compiled(bare_flag(1, "k"), 2)], &ExportFilter::default())).unwrap();
    assert_eq!(
        text,
        concat!(
            r#"{"Flags":[{"ID":1,"CreatedAt":"2026-01-02T03:04:05.678Z","UpdatedAt":"2026-01-02T03:04:05.678Z","#,
            r#""DeletedAt":null,"Key":"k","Description":"d","CreatedBy":"","UpdatedBy":"","Enabled":false,"#,
            r#""Segments":[],"Variants":[],"Tags":[],"SnapshotID":2,"Notes":"","DataRecordsEnabled":false,"#,
            r#""EntityType":""}]}"#
        )
    );
}

#[test]
fn times_print_as_go_does_in_utc() {
    let time_of = |updated_at: OffsetDateTime| {
        let flag = Flag {
            updated_at,
            ..bare_flag(1, "k")
        };
        exported(&[compiled(flag, 1)], &ExportFilter::default())["Flags"][0]["UpdatedAt"].clone()
    };
    assert_eq!(
        time_of(datetime!(2026-01-02 03:04:05 UTC)),
        json!("2026-01-02T03:04:05Z")
    );
    assert_eq!(
        time_of(datetime!(2026-01-02 03:04:05.120 UTC)),
        json!("2026-01-02T03:04:05.12Z")
    );
    assert_eq!(
        time_of(datetime!(2026-01-02 03:04:05.000000001 UTC)),
        json!("2026-01-02T03:04:05.000000001Z")
    );
    assert_eq!(
        time_of(datetime!(2026-01-02 01:00 +02:00)),
        json!("2026-01-01T23:00:00Z")
    );
}

#[test]
fn exports_in_id_order_and_an_empty_cache_as_an_empty_list() {
    let flags = [compiled(bare_flag(9, "c"), 1), compiled(bare_flag(2, "a"), 1)];
    assert_eq!(exported_ids(&flags, &ExportFilter::default()), vec![2, 9]);
    assert_eq!(exported(&[], &ExportFilter::default()), json!({"Flags": []}));
}

fn tagged(id: Id, key: &str, enabled: bool, tags: &[&str]) -> CompiledFlag {
    let flag = Flag {
        enabled,
        tags: tags
            .iter()
            .zip(1..)
            .map(|(value, n)| Tag {
                id: id * 10 + n,
                value: (*value).into(),
            })
            .collect(),
        ..bare_flag(id, key)
    };
    compiled(flag, 1)
}

fn filter_examples() -> Vec<CompiledFlag> {
    vec![
        tagged(1, "a", true, &["x"]),
        tagged(2, "b", false, &["x", "y"]),
        tagged(3, "c", true, &["y"]),
        tagged(4, "d", true, &[]),
    ]
}

#[test]
fn filters_select_by_ids_first() {
    let filter = ExportFilter {
        ids: vec![2, 99],
        keys: vec!["a".into()],
        enabled: Some(true),
        tags: vec!["y".into()],
        tags_operator: TagsOperator::All,
    };
    assert_eq!(exported_ids(&filter_examples(), &filter), vec![2]);
}

#[test]
fn filters_select_by_keys_when_no_ids() {
    let filter = ExportFilter {
        keys: vec!["c".into(), "a".into()],
        enabled: Some(false),
        tags: vec!["nothing".into()],
        ..ExportFilter::default()
    };
    assert_eq!(exported_ids(&filter_examples(), &filter), vec![1, 3]);
}

#[test]
fn filters_combine_enabled_and_tags() {
    let flags = filter_examples();
    let ids = |enabled: Option<bool>, tags: &[&str], tags_operator: TagsOperator| {
        let filter = ExportFilter {
            enabled,
            tags: tags.iter().map(|tag| (*tag).into()).collect(),
            tags_operator,
            ..ExportFilter::default()
        };
        exported_ids(&flags, &filter)
    };
    assert_eq!(ids(None, &[], TagsOperator::Any), vec![1, 2, 3, 4]);
    assert_eq!(ids(Some(true), &[], TagsOperator::Any), vec![1, 3, 4]);
    assert_eq!(ids(Some(false), &[], TagsOperator::All), vec![2]);
    assert_eq!(ids(None, &["x", "y"], TagsOperator::Any), vec![1, 2, 3]);
    assert_eq!(ids(None, &["x", "y"], TagsOperator::All), vec![2]);
    assert_eq!(ids(None, &["x", "unknown"], TagsOperator::All), Vec::<Id>::new());
    assert_eq!(ids(Some(true), &["y"], TagsOperator::Any), vec![3]);
    assert_eq!(ids(Some(true), &["x", "y"], TagsOperator::All), Vec::<Id>::new());
}

// ---------------------------------------------------------------------------------------------
// Round trips.

#[test]
fn import_gives_back_what_export_wrote() {
    let untimed = Flag {
        updated_at: datetime!(2026-03-04 05:06:07.123456789 UTC),
        ..bare_flag(8, "bare")
    };
    let originals = vec![
        StoredFlag {
            flag: checkout(),
            deleted: false,
            snapshot_id: 42,
        },
        StoredFlag {
            flag: untimed,
            deleted: false,
            snapshot_id: 0,
        },
    ];
    let (snapshot, errors) = EvalSnapshot::build(originals.clone());
    assert!(errors.is_empty());
    let text = serde_json::to_string(&export(snapshot.flags(), &ExportFilter::default())).unwrap();
    let back = imported(&text);
    assert_eq!(back.flags, originals);
    assert_eq!(
        back.warnings,
        vec![
            r#"flag "bare" (id 8): no variants"#,
            r#"flag "bare" (id 8): no segments"#
        ]
    );
}

/// A file as people write one by hand for `json_file`: lower-case names, no ids, no times,
/// distributions naming variants by key.
const HAND_WRITTEN: &str = r#"{
  "flags": [
    {
      "key": "new-checkout",
      "enabled": true,
      "variants": [
        {"key": "off"},
        {"key": "on", "attachment": {"color": "green"}}
      ],
      "segments": [
        {
          "description": "everyone else",
          "rank": 1,
          "rolloutPercent": 100,
          "distributions": [{"variantKey": "off", "percent": 100}]
        },
        {
          "description": "Californians",
          "rank": 0,
          "rolloutPercent": 100,
          "constraints": [{"property": "state", "operator": "EQ", "value": "\"CA\""}],
          "distributions": [{"variantKey": "on", "percent": 100}]
        }
      ],
      "tags": [{"value": "web"}]
    }
  ]
}"#;

#[test]
fn a_hand_written_file_imports_and_evaluates() {
    let imported = imported(HAND_WRITTEN);
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    let [stored] = &imported.flags[..] else {
        panic!("one flag expected: {imported:?}");
    };
    let flag = &stored.flag;
    assert_eq!(
        (flag.id, stored.snapshot_id, flag.updated_at),
        (1, 0, datetime!(0001-01-01 0:00 UTC))
    );
    assert_eq!(
        flag.segments.iter().map(|s| (s.id, s.rank)).collect::<Vec<_>>(),
        vec![(2, 0), (1, 1)]
    );
    assert_eq!(flag.variants[1].attachment.to_map()["color"], json!("green"));
    assert_eq!(
        flag.segments[0].distributions[0],
        Distribution {
            id: 2,
            percent: 100,
            variant_id: 2,
            variant_key: "on".into()
        }
    );

    let (snapshot, errors) = EvalSnapshot::build(imported.flags);
    assert!(errors.is_empty());
    let mut random = || 1;
    let mut env = EvalEnv {
        debug_enabled: false,
        timestamp: "2026-01-02T03:04:05Z",
        random: &mut random,
    };
    let mut evaluate = |state: &str| {
        let context = EvalContext {
            flag_key: "new-checkout".into(),
            entity_id: "user-1".into(),
            entity_context: Some(json!({ "state": state })),
            ..EvalContext::default()
        };
        let result = snapshot.evaluate(context, &mut env);
        (
            result.flag_id,
            result.segment_id,
            result.variant_key,
            result.variant_attachment,
        )
    };
    let mut green = Map::new();
    green.insert("color".into(), json!("green"));
    assert_eq!(evaluate("CA"), (1, 2, "on".to_owned(), Some(green.into())));
    assert_eq!(evaluate("NY"), (1, 1, "off".to_owned(), Some(Map::new().into())));
}

// ---------------------------------------------------------------------------------------------
// Decoding as Go does.

#[test]
fn member_names_match_case_insensitively() {
    let imported = imported(
        r#"{"fLaGs": [
            {"id": 1, "key": "lower"},
            {"ID": 2, "KEY": "upper"},
            {"Id": 3 , "Key": "mixed", "DESCRIPTION": "D", "enabled": true , "SNAPSHOTID": 5 },
            {"iD": 4, "\u212Aey": "kelvin", "entityType": "user", "dataRecordsEnabled": true}
        ]}"#,
    );
    let summary: Vec<_> = imported
        .flags
        .iter()
        .map(|stored| (stored.flag.id, stored.flag.key.as_str(), stored.snapshot_id))
        .collect();
    assert_eq!(
        summary,
        vec![(1, "lower", 0), (2, "upper", 0), (3, "mixed", 5), (4, "kelvin", 0)]
    );
    assert_eq!(
        (
            imported.flags[2].flag.description.as_str(),
            imported.flags[2].flag.enabled
        ),
        ("D", true)
    );
    assert_eq!(imported.flags[3].flag.entity_type, "user");
    assert!(imported.flags[3].flag.data_records_enabled);
}

#[test]
fn later_members_win_and_null_changes_nothing() {
    let imported = imported(
        r#"{"Flags": [{"Key": "first", "key": "second", "Description": "kept", "description": null,
            "Unknown": [1, 2], "Variants": [{"Key": "v", "Attachment": null}]}]}"#,
    );
    let flag = &imported.flags[0].flag;
    assert_eq!((flag.key.as_str(), flag.description.as_str()), ("second", "kept"));
    assert_eq!(flag.variants[0].attachment, Map::new().into());
}

#[test]
fn missing_ids_come_from_per_type_counters_above_the_largest_given() {
    // Flagr's own example (eval_cache_normalize_ids_test.go, mixed explicit and auto ids).
    let imported = imported(
        r#"{"Flags": [
            {"ID": 10, "Key": "flag-a",
             "Variants": [{"Key": "v1"}, {"ID": 5, "Key": "v2"}, {"Key": "v3"}],
             "Segments": [{"ID": 3, "RolloutPercent": 100,
                "Constraints": [{"Property": "a", "Operator": "EQ", "Value": "1"}],
                "Distributions": [{"VariantKey": "v1", "Percent": 34}, {"VariantKey": "v2", "Percent": 33},
                                  {"VariantKey": "v3", "Percent": 33}]}],
             "Tags": [{"ID": 50, "Value": "t"}]},
            {"Key": "flag-b",
             "Variants": [{"Key": "only"}],
             "Segments": [{"RolloutPercent": 100,
                "Constraints": [{"ID": 7, "Property": "a", "Operator": "EQ", "Value": "1"},
                                {"Property": "b", "Operator": "EQ", "Value": "2"}],
                "Distributions": [{"ID": 20, "VariantKey": "only", "Percent": 100}]}],
             "Tags": [{"Value": "t"}]}
        ]}"#,
    );
    let [a, b] = &imported.flags[..] else {
        panic!("two flags expected");
    };
    assert_eq!((a.flag.id, b.flag.id), (10, 11));
    let variants = |stored: &StoredFlag| -> Vec<(Id, String)> {
        stored
            .flag
            .variants
            .iter()
            .map(|variant| (variant.id, variant.key.clone()))
            .collect()
    };
    assert_eq!(variants(a), vec![(5, "v2".into()), (6, "v1".into()), (7, "v3".into())]);
    assert_eq!(variants(b), vec![(8, "only".into())]);
    let links = |stored: &StoredFlag| -> Vec<(Id, Id, String)> {
        stored.flag.segments[0]
            .distributions
            .iter()
            .map(|distribution| {
                (
                    distribution.id,
                    distribution.variant_id,
                    distribution.variant_key.clone(),
                )
            })
            .collect()
    };
    assert_eq!(
        links(a),
        vec![(22, 5, "v2".into()), (21, 6, "v1".into()), (23, 7, "v3".into())]
    );
    assert_eq!(links(b), vec![(20, 8, "only".into())]);
    assert_eq!((a.flag.segments[0].id, b.flag.segments[0].id), (3, 4));
    let constraint_ids =
        |stored: &StoredFlag| -> Vec<Id> { stored.flag.segments[0].constraints.iter().map(|c| c.id).collect() };
    assert_eq!((constraint_ids(a), constraint_ids(b)), (vec![8], vec![7, 9]));
    assert_eq!((a.flag.tags[0].id, b.flag.tags[0].id), (50, 51));
}

#[test]
fn an_explicit_variant_id_wins_over_the_variant_key() {
    let imported = imported(
        r#"{"Flags": [{"Key": "f", "Variants": [{"ID": 1, "Key": "a"}, {"ID": 2, "Key": "b"}],
            "Segments": [{"RolloutPercent": 100, "Distributions": [{"VariantID": 2, "VariantKey": "a", "Percent": 100}]}]}]}"#,
    );
    assert_eq!(imported.flags[0].flag.segments[0].distributions[0].variant_id, 2);
}

#[test]
fn children_are_sorted_as_bunting_keeps_them() {
    let imported = imported(
        r#"{"Flags": [{"ID": 1, "Key": "f",
            "Tags": [{"ID": 9, "Value": "z"}, {"ID": 3, "Value": "a"}],
            "Variants": [{"ID": 6, "Key": "b"}, {"ID": 5, "Key": "a"}],
            "Segments": [
                {"ID": 1, "Rank": 2, "RolloutPercent": 100, "Distributions": [{"VariantKey": "b", "Percent": 100}]},
                {"ID": 3, "Rank": 1, "RolloutPercent": 100, "Distributions": [{"VariantKey": "a", "Percent": 100}]},
                {"ID": 2, "Rank": 1, "RolloutPercent": 100,
                 "Constraints": [{"Property": "z", "Operator": "EQ", "Value": "1"},
                                 {"Property": "a", "Operator": "EQ", "Value": "1"}],
                 "Distributions": [{"VariantKey": "b", "Percent": 50}, {"VariantKey": "a", "Percent": 50}]}
            ]}]}"#,
    );
    let flag = &imported.flags[0].flag;
    assert_eq!(flag.tags.iter().map(|t| t.id).collect::<Vec<_>>(), vec![3, 9]);
    assert_eq!(flag.variants.iter().map(|v| v.id).collect::<Vec<_>>(), vec![5, 6]);
    assert_eq!(flag.segments.iter().map(|s| s.id).collect::<Vec<_>>(), vec![2, 3, 1]);
    // Constraints keep file order (Flagr's is creation order); distributions go by variant id.
    let first = &flag.segments[0];
    assert_eq!(
        first
            .constraints
            .iter()
            .map(|c| c.property.as_str())
            .collect::<Vec<_>>(),
        vec!["z", "a"]
    );
    assert_eq!(
        first.distributions.iter().map(|d| d.variant_id).collect::<Vec<_>>(),
        vec![5, 6]
    );
}

#[test]
fn deleted_flags_are_skipped() {
    let imported = imported(
        r#"{"Flags": [
            {"ID": 1, "Key": "gone", "DeletedAt": "2026-01-02T03:04:05Z"},
            {"ID": 2, "Key": "gone", "DeletedAt": null},
            {"ID": 3, "Key": "live"}
        ]}"#,
    );
    let ids: Vec<Id> = imported.flags.iter().map(|stored| stored.flag.id).collect();
    assert_eq!(ids, vec![2, 3]);
    assert!(imported.flags.iter().all(|stored| !stored.deleted));
}

#[test]
fn only_an_object_with_flags_is_a_flag_file() {
    assert!(import_errors("{")[0].starts_with("not valid JSON: "));
    assert!(import_errors(r#"{"Flags": []} x"#)[0].starts_with("not valid JSON: "));
    assert_eq!(
        import_errors(r#"[{"Key": "bare array"}]"#),
        vec!["the document: expected an object, found an array"]
    );
    assert_eq!(
        import_errors(r#"{"Flags": {"Key": "k"}}"#),
        vec!["Flags: expected an array, found an object"]
    );
    for empty in ["{}", "null", r#"{"Flag": [{"Key": "typo"}]}"#] {
        let imported = imported(empty);
        assert!(imported.flags.is_empty());
        assert_eq!(imported.warnings, vec!["the document: no Flags member, so no flags"]);
    }
    assert_eq!(
        imported(r#"{"Flags": null}"#),
        Imported {
            flags: vec![],
            warnings: vec![]
        }
    );
}

#[test]
fn values_of_the_wrong_type_are_errors_with_their_path() {
    let errors = import_errors(
        r#"{"Flags": [
            {"ID": "1", "Key": 7, "Enabled": "yes", "UpdatedAt": 5, "CreatedAt": "yesterday",
             "Segments": {}, "SnapshotID": 18446744073709551615,
             "Variants": [{"ID": -1, "Attachment": [1]}, {"ID": 1.5}, {"ID": -0, "Attachment": "x"}],
             "Tags": [{"Value": true}]},
            5,
            null
        ]}"#,
    );
    let max = i64::MAX;
    assert_eq!(
        errors,
        vec![
            "Flags[0].ID: expected a non-negative integer, found a string".to_owned(),
            "Flags[0].Key: expected a string, found a number".into(),
            "Flags[0].Enabled: expected a boolean, found a string".into(),
            "Flags[0].UpdatedAt: expected an RFC 3339 time string, found a number".into(),
            errors[4].clone(),
            "Flags[0].Segments: expected an array, found an object".into(),
            format!("Flags[0].SnapshotID: expected an integer from 0 to {max}, found 18446744073709551615"),
            format!("Flags[0].Variants[0].ID: expected an integer from 0 to {max}, found -1"),
            "Flags[0].Variants[0].Attachment: expected an object, found an array".into(),
            format!("Flags[0].Variants[1].ID: expected an integer from 0 to {max}, found 1.5"),
            format!("Flags[0].Variants[2].ID: expected an integer from 0 to {max}, found -0"),
            "Flags[0].Variants[2].Attachment: expected an object, found a string".into(),
            "Flags[0].Tags[0].Value: expected a string, found a boolean".into(),
            "Flags[1]: expected an object, found a number".into(),
        ]
    );
    assert!(errors[4].starts_with(r#"Flags[0].CreatedAt: expected an RFC 3339 time, found "yesterday": "#));
}

// ---------------------------------------------------------------------------------------------
// Validation.

#[test]
fn validation_reports_every_error_with_its_place() {
    let error = import(
        r#"{"Flags": [
            {"ID": 1, "Key": "", "Variants": [{"ID": 1, "Key": "on"}]},
            {"ID": 2, "Key": "dup", "Variants": [{"ID": 2, "Key": "on"}],
             "Segments": [{"ID": 2, "RolloutPercent": 100, "Distributions": [{"VariantKey": "on", "Percent": 100}]}]},
            {"ID": 3, "Key": "dup", "Variants": [{"ID": 3, "Key": "on"}],
             "Segments": [{"ID": 3, "RolloutPercent": 100, "Distributions": [{"VariantKey": "on", "Percent": 100}]}]},
            {"ID": 4, "Key": "checkout",
             "Variants": [{"ID": 5, "Key": ""}, {"ID": 6, "Key": "on"}, {"ID": 7, "Key": "on"}],
             "Segments": [
                {"ID": 8,
                 "Constraints": [{"ID": 9, "Property": "state", "Operator": "EQ", "Value": "CA"}],
                 "Distributions": [{"ID": 10, "VariantID": 6, "VariantKey": "on", "Percent": 120},
                                   {"ID": 11, "VariantKey": "blue", "Percent": 0},
                                   {"ID": 12, "Percent": 0}]},
                {"ID": 13, "Distributions": [{"ID": 14, "VariantKey": "on", "Percent": 90}]},
                {"ID": 15, "Distributions": []}
             ]}
        ]}"#,
    )
    .unwrap_err();
    assert_eq!(
        error.errors,
        vec![
            r#"flag (id 1): empty key"#,
            r#"flag "checkout" (id 4), variant 5: empty key"#,
            r#"flag "checkout" (id 4): duplicate variant key "on": variants 6, 7"#,
            r#"flag "checkout" (id 4), segment 8, constraint 9: "state" EQ "CA" is invalid: unquoted string: CA"#,
            r#"flag "checkout" (id 4), segment 8, distribution 11: unknown variant key "blue""#,
            r#"flag "checkout" (id 4), segment 8, distribution 12: names no variant: no VariantKey or VariantID"#,
            r#"flag "checkout" (id 4), segment 8, distribution 10: percent 120 is above 100"#,
            r#"flag "checkout" (id 4), segment 8: distributions sum to 120, not 100"#,
            r#"flag "checkout" (id 4), segment 13: distributions sum to 90, not 100"#,
            r#"duplicate flag key "dup": flags 2, 3"#,
        ]
    );
    assert_eq!(
        error.warnings,
        vec![
            r#"flag (id 1): no segments"#,
            r#"flag "checkout" (id 4), segment 15: no distributions"#,
        ]
    );
    assert!(
        error
            .to_string()
            .starts_with("invalid flag file: flag (id 1): empty key; flag \"checkout\" (id 4), variant 5")
    );
}

#[test]
fn ids_must_be_unique_where_evaluation_looks_them_up() {
    assert_eq!(
        import_errors(
            r#"{"Flags": [
                {"ID": 1, "Key": "a"},
                {"ID": 1, "Key": "b", "Variants": [{"ID": 2, "Key": "x"}, {"ID": 2, "Key": "y"}]}
            ]}"#
        ),
        vec![
            r#"flag "b" (id 1): duplicate variant id 2"#,
            r#"duplicate flag id 1: flags "a", "b""#,
        ]
    );
}

#[test]
fn warnings_do_not_block_the_load() {
    let imported = imported(
        r#"{"Flags": [
            {"ID": 1, "Key": "empty"},
            {"ID": 2, "Key": "undistributed", "Variants": [{"Key": "on"}], "Segments": [{"ID": 4}]}
        ]}"#,
    );
    assert_eq!(imported.flags.len(), 2);
    assert_eq!(
        imported.warnings,
        vec![
            r#"flag "empty" (id 1): no variants"#,
            r#"flag "empty" (id 1): no segments"#,
            r#"flag "undistributed" (id 2), segment 4: no distributions"#,
        ]
    );
}

#[test]
fn running_out_of_ids_is_an_error() {
    assert_eq!(
        import_errors(&format!(
            r#"{{"Flags": [{{"ID": {}, "Key": "a"}}, {{"Key": "b"}}]}}"#,
            i64::MAX
        )),
        vec!["cannot assign flag ids: the file already uses the largest possible one"]
    );
}
