//! Flag mutations as pure functions: a command applied to the current flag gives the next flag,
//! the event types it represents and the component it touched — or a domain error.
//!
//! The store calls [`apply`] inside the mutation's transaction, so every rule of Flagr's write
//! path (`flagr-spec.md` §1.5, §1.6) lives here once, for both databases. Ids come from
//! [`IdCounters`], which the store reads and writes back in the same transaction; the time, the
//! actor and a spare random key come in as values, so this module never reads a clock or an RNG.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::change::{ChangeEvent, ComponentType, Event, EventType};
use crate::constraint;
use crate::flag::{Attachment, Constraint, Distribution, Flag, Id, Segment, StoredFlag, Tag, Variant};
use crate::validation::{check_key, check_tag_value};

/// Rank of a new segment: Flagr appends new segments after every ranked one.
pub const NEW_SEGMENT_RANK: i64 = 999;
/// The only template Flagr knows.
pub const SIMPLE_BOOLEAN_FLAG_TEMPLATE: &str = "simple_boolean_flag";

/// The last id handed out per table, plus the change-log sequence. The store keeps them in one
/// row that every mutation locks, which also makes the change-log sequence commit-ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdCounters {
    pub change: Id,
    pub flag: Id,
    pub tag: Id,
    pub segment: Id,
    pub variant: Id,
    pub constraint: Id,
    pub distribution: Id,
    pub webhook: Id,
}

impl IdCounters {
    fn next(counter: &mut Id) -> Id {
        *counter += 1;
        *counter
    }
    pub fn next_change(&mut self) -> Id {
        Self::next(&mut self.change)
    }
    pub fn next_flag(&mut self) -> Id {
        Self::next(&mut self.flag)
    }
    pub fn next_tag(&mut self) -> Id {
        Self::next(&mut self.tag)
    }
    pub fn next_webhook(&mut self) -> Id {
        Self::next(&mut self.webhook)
    }

    /// Raises the counters to at least the ids `flag` already uses (a flag imported with its
    /// ids), so ids handed out later never collide with them.
    pub fn cover(&mut self, flag: &Flag) {
        self.flag = self.flag.max(flag.id);
        for segment in &flag.segments {
            self.segment = self.segment.max(segment.id);
            for constraint in &segment.constraints {
                self.constraint = self.constraint.max(constraint.id);
            }
            for distribution in &segment.distributions {
                self.distribution = self.distribution.max(distribution.id);
            }
        }
        for variant in &flag.variants {
            self.variant = self.variant.max(variant.id);
        }
    }
    fn next_segment(&mut self) -> Id {
        Self::next(&mut self.segment)
    }
    fn next_variant(&mut self) -> Id {
        Self::next(&mut self.variant)
    }
    fn next_constraint(&mut self) -> Id {
        Self::next(&mut self.constraint)
    }
    fn next_distribution(&mut self) -> Id {
        Self::next(&mut self.distribution)
    }
}

/// The ids a flag key already has in other environments. A flag created (or duplicated) under a
/// key that exists elsewhere takes that flag's id, and a variant added under a key that flag has
/// elsewhere takes that variant's id: Flagr salts bucketing with the flag id and orders
/// distributions by variant id, so an entity gets the same variant in every environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedIds {
    pub flag: Option<Id>,
    /// Variant key and id, of the flag with that id in the other environments.
    pub variants: Vec<(String, Id)>,
}

impl SharedIds {
    fn flag_id(&self, ids: &mut IdCounters) -> Id {
        self.flag.unwrap_or_else(|| ids.next_flag())
    }

    fn variant_id(&self, key: &str, ids: &mut IdCounters) -> Id {
        self.variants
            .iter()
            .find(|(shared, _)| shared == key)
            .map_or_else(|| ids.next_variant(), |(_, id)| *id)
    }
}

/// Who made a change and when, plus a random key for commands that need one.
#[derive(Debug, Clone)]
pub struct Origin {
    pub actor: String,
    pub at: OffsetDateTime,
    /// The id of the change event this mutation records.
    pub event_id: String,
    /// Used when a flag is created, duplicated or renamed with an empty key.
    pub random_key: String,
}

/// Fields of `PUT /flags/{id}`; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlagPatch {
    pub description: Option<String>,
    pub data_records_enabled: Option<bool>,
    pub entity_type: Option<String>,
    /// `Some("")` asks for a new random key, as in Flagr.
    pub key: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewDistribution {
    pub variant_id: Id,
    pub variant_key: String,
    pub percent: i64,
}

/// Everything that can change a flag.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    CreateFlag {
        key: String,
        description: String,
        template: Option<String>,
    },
    /// Copies the live flag the command is applied to into a new flag.
    DuplicateFlag {
        key: String,
        description: String,
    },
    UpdateFlag(FlagPatch),
    SetEnabled(bool),
    Delete,
    Restore,
    /// The tag row itself is found or created by the store, which knows the global tag table.
    AttachTag(Tag),
    DetachTag(Id),
    CreateVariant {
        key: String,
        attachment: Option<Map<String, Value>>,
    },
    UpdateVariant {
        id: Id,
        key: String,
        attachment: Option<Map<String, Value>>,
    },
    DeleteVariant(Id),
    CreateSegment {
        description: String,
        rollout_percent: i64,
    },
    UpdateSegment {
        id: Id,
        description: String,
        rollout_percent: i64,
    },
    ReorderSegments(Vec<Id>),
    DeleteSegment(Id),
    CreateConstraint {
        segment_id: Id,
        property: String,
        operator: String,
        value: String,
    },
    UpdateConstraint {
        segment_id: Id,
        id: Id,
        property: String,
        operator: String,
        value: String,
    },
    DeleteConstraint {
        segment_id: Id,
        id: Id,
    },
    PutDistributions {
        segment_id: Id,
        distributions: Vec<NewDistribution>,
    },
}

impl Command {
    /// Whether the command makes a new flag rather than changing an existing one.
    pub fn creates_flag(&self) -> bool {
        matches!(self, Command::CreateFlag { .. } | Command::DuplicateFlag { .. })
    }

    /// The verb Flagr uses in this command's error messages ("cannot create flag. ...").
    pub fn verb(&self) -> &'static str {
        match self {
            Command::CreateFlag { .. } => "create",
            Command::DuplicateFlag { .. } => "duplicate",
            _ => "update",
        }
    }
}

/// Why a command was refused. The store adds the cases only it can see (a taken key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MutationError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
}

/// The result of applying a command. `events` is empty when nothing changed; then `after`
/// equals `before` and nothing is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub before: Option<StoredFlag>,
    pub after: StoredFlag,
    pub events: Vec<Event>,
}

impl Outcome {
    pub fn changed(&self) -> bool {
        !self.events.is_empty()
    }

    /// The id of the object the change was about (the new segment of a create, say).
    pub fn component_id(&self) -> Option<Id> {
        self.events.first().and_then(|event| event.component.id)
    }

    /// The change-log entry of this outcome. `current` is the flag after the change, already
    /// serialized by the caller (who stores the same text as the flag's document).
    pub fn change_event(
        &self,
        environment_id: i64,
        origin: &Origin,
        current: String,
    ) -> Result<ChangeEvent, serde_json::Error> {
        let flag = &self.after.flag;
        Ok(ChangeEvent {
            seq: self.after.snapshot_id,
            event_id: origin.event_id.clone(),
            occurred_at: origin.at,
            actor: origin.actor.clone(),
            environment_id,
            flag_id: Some(flag.id),
            flag_key: Some(flag.key.clone()),
            events: self.events.clone(),
            previous: self
                .before
                .as_ref()
                .map(|before| serde_json::to_string(&before.flag))
                .transpose()?,
            current: Some(current),
        })
    }
}

pub fn flag_not_found(id: Id) -> MutationError {
    MutationError::NotFound(format!("unable to find flag {id} in the database"))
}

/// Applies `command` to `current` (`None` only for `CreateFlag`; for `DuplicateFlag` it is the
/// source, and the outcome is the new flag with no `before`).
///
/// A live flag is required for every command but `Restore`, which also takes a deleted one.
/// On a change, the flag's `updatedBy`/`updatedAt` and snapshot id are stamped and the change
/// sequence is taken from `ids`.
pub fn apply(
    current: Option<&StoredFlag>,
    command: Command,
    ids: &mut IdCounters,
    shared: &SharedIds,
    origin: &Origin,
) -> Result<Outcome, MutationError> {
    let at = truncate_to_millis(origin.at);
    let (before, mut after, events) = match command {
        Command::CreateFlag {
            key,
            description,
            template,
        } => {
            let flag = create_flag(key, description, template.as_deref(), ids, shared, origin, at)?;
            let events = vec![Event::new(
                EventType::FlagCreated,
                ComponentType::Flag,
                Some(flag.id),
                Some(&flag.key),
            )];
            (
                None,
                StoredFlag {
                    flag,
                    deleted: false,
                    snapshot_id: 0,
                },
                events,
            )
        }
        Command::DuplicateFlag { key, description } => {
            let source = current.filter(|source| !source.deleted).ok_or_else(|| match current {
                Some(source) => flag_not_found(source.flag.id),
                None => MutationError::NotFound("flag not found".into()),
            })?;
            let flag = duplicate_flag(&source.flag, key, description, ids, shared, origin, at)?;
            let events = vec![Event::new(
                EventType::FlagCreated,
                ComponentType::Flag,
                Some(flag.id),
                Some(&flag.key),
            )];
            (
                None,
                StoredFlag {
                    flag,
                    deleted: false,
                    snapshot_id: 0,
                },
                events,
            )
        }
        command => {
            let current = current.ok_or_else(|| MutationError::NotFound("flag not found".into()))?;
            let is_restore = matches!(command, Command::Restore);
            if current.deleted && !is_restore {
                return Err(flag_not_found(current.flag.id));
            }
            let mut next = current.clone();
            let events = change_existing(&mut next, command, ids, shared, origin)?;
            next.flag.sort_children();
            let events = if next == *current { Vec::new() } else { events };
            (Some(current.clone()), next, events)
        }
    };
    if !events.is_empty() {
        after.snapshot_id = ids.next_change();
        after.flag.updated_by = origin.actor.clone();
        after.flag.updated_at = at;
        after.flag.sort_children();
    }
    Ok(Outcome { before, after, events })
}

/// Flagr's `updatedAt` has millisecond precision; stored documents must round-trip exactly.
fn truncate_to_millis(at: OffsetDateTime) -> OffsetDateTime {
    let millis = at.millisecond();
    at.replace_nanosecond(u32::from(millis) * 1_000_000).unwrap_or(at)
}

fn key_or_random(key: String, origin: &Origin) -> String {
    if key.is_empty() { origin.random_key.clone() } else { key }
}

fn new_flag(id: Id, key: String, description: String, origin: &Origin, at: OffsetDateTime) -> Flag {
    Flag {
        id,
        key,
        description,
        enabled: false,
        tags: vec![],
        segments: vec![],
        variants: vec![],
        data_records_enabled: false,
        entity_type: String::new(),
        notes: String::new(),
        created_by: origin.actor.clone(),
        updated_by: String::new(),
        updated_at: at,
    }
}

fn create_flag(
    key: String,
    description: String,
    template: Option<&str>,
    ids: &mut IdCounters,
    shared: &SharedIds,
    origin: &Origin,
    at: OffsetDateTime,
) -> Result<Flag, MutationError> {
    let key = key_or_random(key, origin);
    check_key(&key).map_err(|reason| {
        MutationError::Invalid(format!(
            "cannot create flag. cannot create flag due to invalid key. reason: {reason}"
        ))
    })?;
    let template = template.filter(|name| !name.is_empty());
    if let Some(name) = template
        && name != SIMPLE_BOOLEAN_FLAG_TEMPLATE
    {
        return Err(MutationError::Invalid(format!("unknown value for template: {name}")));
    }
    let mut flag = new_flag(shared.flag_id(ids), key, description, origin, at);
    if template.is_some() {
        let variant = Variant {
            id: shared.variant_id("on", ids),
            key: "on".into(),
            attachment: Attachment::default(),
        };
        let distribution = Distribution {
            id: ids.next_distribution(),
            percent: 100,
            variant_id: variant.id,
            variant_key: variant.key.clone(),
        };
        flag.segments.push(Segment {
            id: ids.next_segment(),
            description: String::new(),
            constraints: vec![],
            distributions: vec![distribution],
            rank: NEW_SEGMENT_RANK,
            rollout_percent: 100,
        });
        flag.variants.push(variant);
    }
    Ok(flag)
}

fn duplicate_flag(
    source: &Flag,
    key: String,
    description: String,
    ids: &mut IdCounters,
    shared: &SharedIds,
    origin: &Origin,
    at: OffsetDateTime,
) -> Result<Flag, MutationError> {
    let key = key_or_random(key, origin);
    check_key(&key).map_err(|reason| MutationError::Invalid(format!("cannot duplicate flag. {reason}")))?;
    // The copy is a write like any other: it must not store a constraint that does not compile
    // (one an older version accepted).
    for segment in &source.segments {
        for c in &segment.constraints {
            constraint::compile(&c.property, &c.operator, &c.value).map_err(|error| {
                MutationError::Invalid(format!(
                    "cannot duplicate flag. constraint {} ({} {} {}) of segment {} does not compile: {error}; fix \
                     or delete it first",
                    c.id, c.property, c.operator, c.value, segment.id
                ))
            })?;
        }
    }
    let description = if !description.is_empty() {
        description
    } else if source.description.trim().is_empty() {
        "(cloned)".to_owned()
    } else {
        format!("{} (cloned)", source.description)
    };
    let mut clone = new_flag(shared.flag_id(ids), key, description, origin, at);
    clone.enabled = source.enabled;
    clone.notes = source.notes.clone();
    clone.data_records_enabled = source.data_records_enabled;
    clone.entity_type = source.entity_type.clone();
    clone.tags = source.tags.clone();
    // Distributions are re-linked to the copies of their variants.
    let mut variant_ids = Vec::with_capacity(source.variants.len());
    for variant in &source.variants {
        let copy = Variant {
            id: shared.variant_id(&variant.key, ids),
            key: variant.key.clone(),
            attachment: variant.attachment.clone(),
        };
        variant_ids.push((variant.id, copy.id));
        clone.variants.push(copy);
    }
    for segment in &source.segments {
        let constraints = segment
            .constraints
            .iter()
            .map(|c| Constraint {
                id: ids.next_constraint(),
                ..c.clone()
            })
            .collect();
        let distributions = segment
            .distributions
            .iter()
            .filter_map(|d| {
                let (_, new_variant_id) = variant_ids.iter().find(|(old, _)| *old == d.variant_id)?;
                Some(Distribution {
                    id: ids.next_distribution(),
                    variant_id: *new_variant_id,
                    ..d.clone()
                })
            })
            .collect();
        clone.segments.push(Segment {
            id: ids.next_segment(),
            description: segment.description.clone(),
            constraints,
            distributions,
            rank: segment.rank,
            rollout_percent: segment.rollout_percent,
        });
    }
    clone.sort_children();
    Ok(clone)
}

/// Applies a command to a live (or, for restore, deleted) flag in place and says what it was.
/// The caller decides whether anything actually changed by comparing before and after.
fn change_existing(
    stored: &mut StoredFlag,
    command: Command,
    ids: &mut IdCounters,
    shared: &SharedIds,
    origin: &Origin,
) -> Result<Vec<Event>, MutationError> {
    let flag_id = stored.flag.id;
    let flag = &mut stored.flag;
    let on_flag =
        |kind: EventType, flag: &Flag| vec![Event::new(kind, ComponentType::Flag, Some(flag_id), Some(&flag.key))];
    match command {
        Command::CreateFlag { .. } | Command::DuplicateFlag { .. } => Err(MutationError::Invalid(
            "a flag cannot be created over an existing one".into(),
        )),
        Command::UpdateFlag(patch) => {
            update_flag(flag, patch, origin)?;
            Ok(on_flag(EventType::FlagUpdated, flag))
        }
        Command::SetEnabled(enabled) => {
            flag.enabled = enabled;
            Ok(on_flag(
                if enabled {
                    EventType::FlagEnabled
                } else {
                    EventType::FlagDisabled
                },
                flag,
            ))
        }
        Command::Delete => {
            stored.deleted = true;
            Ok(on_flag(EventType::FlagDeleted, &stored.flag))
        }
        Command::Restore => {
            stored.deleted = false;
            Ok(on_flag(EventType::FlagRestored, &stored.flag))
        }
        Command::AttachTag(tag) => {
            let event = Event::new(
                EventType::FlagUpdated,
                ComponentType::Tag,
                Some(tag.id),
                Some(&tag.value),
            );
            if !flag.tags.iter().any(|existing| existing.id == tag.id) {
                flag.tags.push(tag);
            }
            Ok(vec![event])
        }
        Command::DetachTag(tag_id) => {
            let Some(position) = flag.tags.iter().position(|tag| tag.id == tag_id) else {
                return Err(MutationError::NotFound(format!(
                    "unable to find tag {tag_id} on flag {flag_id}"
                )));
            };
            let tag = flag.tags.remove(position);
            Ok(vec![Event::new(
                EventType::FlagUpdated,
                ComponentType::Tag,
                Some(tag.id),
                Some(&tag.value),
            )])
        }
        Command::CreateVariant { key, attachment } => {
            check_variant_key(&key)?;
            let variant = Variant {
                id: shared.variant_id(&key, ids),
                key,
                attachment: attachment.map(Attachment::from).unwrap_or_default(),
            };
            let event = Event::new(
                EventType::VariantCreated,
                ComponentType::Variant,
                Some(variant.id),
                Some(&variant.key),
            );
            flag.variants.push(variant);
            Ok(vec![event])
        }
        Command::UpdateVariant { id, key, attachment } => {
            check_variant_key(&key)?;
            let variant = flag
                .variants
                .iter_mut()
                .find(|variant| variant.id == id)
                .ok_or_else(|| variant_not_found(id, flag_id))?;
            let mut kinds = Vec::new();
            if variant.key != key {
                kinds.push(EventType::VariantUpdated);
                variant.key = key.clone();
            }
            if let Some(attachment) = attachment.map(Attachment::from)
                && variant.attachment != attachment
            {
                kinds.push(EventType::VariantAttachmentUpdated);
                variant.attachment = attachment;
            }
            // A rename is carried into every distribution that names the variant.
            for segment in &mut flag.segments {
                for distribution in &mut segment.distributions {
                    if distribution.variant_id == id {
                        distribution.variant_key = key.clone();
                    }
                }
            }
            Ok(kinds
                .into_iter()
                .map(|kind| Event::new(kind, ComponentType::Variant, Some(id), Some(&key)))
                .collect())
        }
        Command::DeleteVariant(id) => {
            let position = flag
                .variants
                .iter()
                .position(|variant| variant.id == id)
                .ok_or_else(|| variant_not_found(id, flag_id))?;
            for segment in &flag.segments {
                if let Some(blocking) = segment
                    .distributions
                    .iter()
                    .find(|d| d.variant_id == id && d.percent != 0)
                {
                    return Err(MutationError::Invalid(format!(
                        "error deleting variant {id}. distribution {} still has non-zero distribution {}",
                        blocking.id, blocking.percent
                    )));
                }
            }
            for segment in &mut flag.segments {
                segment.distributions.retain(|d| d.variant_id != id);
            }
            let variant = flag.variants.remove(position);
            Ok(vec![Event::new(
                EventType::VariantDeleted,
                ComponentType::Variant,
                Some(id),
                Some(&variant.key),
            )])
        }
        Command::CreateSegment {
            description,
            rollout_percent,
        } => {
            let segment = Segment {
                id: ids.next_segment(),
                description,
                constraints: vec![],
                distributions: vec![],
                rank: NEW_SEGMENT_RANK,
                rollout_percent,
            };
            let event = Event::new(
                EventType::SegmentCreated,
                ComponentType::Segment,
                Some(segment.id),
                None,
            );
            flag.segments.push(segment);
            Ok(vec![event])
        }
        Command::UpdateSegment {
            id,
            description,
            rollout_percent,
        } => {
            let segment = segment_mut(flag, id)?;
            let mut kinds = Vec::new();
            if segment.description != description {
                kinds.push(EventType::SegmentUpdated);
                segment.description = description;
            }
            if segment.rollout_percent != rollout_percent {
                kinds.push(EventType::SegmentRolloutPercentUpdated);
                segment.rollout_percent = rollout_percent;
            }
            Ok(kinds
                .into_iter()
                .map(|kind| Event::new(kind, ComponentType::Segment, Some(id), None))
                .collect())
        }
        Command::ReorderSegments(order) => {
            for id in &order {
                segment_mut(flag, *id)?;
            }
            // One segment.updated per segment whose rank actually changed.
            let mut events = Vec::new();
            for (rank, id) in order.iter().enumerate() {
                let segment = segment_mut(flag, *id)?;
                let rank = i64::try_from(rank).unwrap_or(i64::MAX);
                if segment.rank != rank {
                    segment.rank = rank;
                    events.push(Event::new(
                        EventType::SegmentUpdated,
                        ComponentType::Segment,
                        Some(*id),
                        None,
                    ));
                }
            }
            Ok(events)
        }
        Command::DeleteSegment(id) => {
            segment_mut(flag, id)?;
            flag.segments.retain(|segment| segment.id != id);
            Ok(vec![Event::new(
                EventType::SegmentDeleted,
                ComponentType::Segment,
                Some(id),
                None,
            )])
        }
        Command::CreateConstraint {
            segment_id,
            property,
            operator,
            value,
        } => {
            check_constraint(&property, &operator, &value)?;
            let constraint = Constraint {
                id: ids.next_constraint(),
                property,
                operator,
                value,
            };
            let event = Event::new(
                EventType::ConstraintCreated,
                ComponentType::Constraint,
                Some(constraint.id),
                None,
            );
            segment_mut(flag, segment_id)?.constraints.push(constraint);
            Ok(vec![event])
        }
        Command::UpdateConstraint {
            segment_id,
            id,
            property,
            operator,
            value,
        } => {
            let segment = segment_mut(flag, segment_id)?;
            let constraint = segment
                .constraints
                .iter_mut()
                .find(|constraint| constraint.id == id)
                .ok_or_else(|| constraint_not_found(id, segment_id))?;
            check_constraint(&property, &operator, &value)?;
            *constraint = Constraint {
                id,
                property,
                operator,
                value,
            };
            Ok(vec![Event::new(
                EventType::ConstraintUpdated,
                ComponentType::Constraint,
                Some(id),
                None,
            )])
        }
        Command::DeleteConstraint { segment_id, id } => {
            let segment = segment_mut(flag, segment_id)?;
            let position = segment
                .constraints
                .iter()
                .position(|constraint| constraint.id == id)
                .ok_or_else(|| constraint_not_found(id, segment_id))?;
            segment.constraints.remove(position);
            Ok(vec![Event::new(
                EventType::ConstraintDeleted,
                ComponentType::Constraint,
                Some(id),
                None,
            )])
        }
        Command::PutDistributions {
            segment_id,
            distributions,
        } => {
            check_distributions(flag, &distributions)?;
            let segment = segment_mut(flag, segment_id)?;
            let unchanged = segment.distributions.len() == distributions.len()
                && distributions.iter().all(|new| {
                    segment.distributions.iter().any(|old| {
                        old.variant_id == new.variant_id
                            && old.variant_key == new.variant_key
                            && old.percent == new.percent
                    })
                });
            // Flagr replaces every row (new ids); an identical list changes nothing, so it keeps them.
            if !unchanged {
                segment.distributions = distributions
                    .into_iter()
                    .map(|new| Distribution {
                        id: ids.next_distribution(),
                        percent: new.percent,
                        variant_id: new.variant_id,
                        variant_key: new.variant_key,
                    })
                    .collect();
            }
            Ok(vec![Event::new(
                EventType::DistributionUpdated,
                ComponentType::Distribution,
                None,
                None,
            )])
        }
    }
}

fn update_flag(flag: &mut Flag, patch: FlagPatch, origin: &Origin) -> Result<(), MutationError> {
    if let Some(description) = patch.description {
        flag.description = description;
    }
    if let Some(data_records_enabled) = patch.data_records_enabled {
        flag.data_records_enabled = data_records_enabled;
    }
    if let Some(entity_type) = patch.entity_type {
        if !entity_type.is_empty() {
            check_key(&entity_type)
                .map_err(|reason| MutationError::Invalid(format!("invalid entityType. {reason}")))?;
        }
        flag.entity_type = entity_type;
    }
    if let Some(key) = patch.key {
        let key = key_or_random(key, origin);
        check_key(&key).map_err(|reason| MutationError::Invalid(format!("cannot update flag. {reason}")))?;
        flag.key = key;
    }
    if let Some(notes) = patch.notes {
        flag.notes = notes;
    }
    Ok(())
}

/// Tag values are checked before the store looks the tag up, so this is public.
pub fn check_tag(value: &str) -> Result<(), MutationError> {
    check_tag_value(value).map_err(|reason| MutationError::Invalid(format!("cannot create tag. {reason}")))
}

fn check_variant_key(key: &str) -> Result<(), MutationError> {
    check_key(key).map_err(|reason| MutationError::Invalid(format!("invalid variant key. {reason}")))
}

fn check_constraint(property: &str, operator: &str, value: &str) -> Result<(), MutationError> {
    constraint::compile(property, operator, value)
        .map(|_| ())
        .map_err(|error| {
            MutationError::Invalid(format!(
                "constraint ({property} {operator} {value}) is not valid: {error}. Hint: quote strings (\"CA\"), \
             write lists as JSON arrays ([\"a\",\"b\"]) and use Go/RE2 regular expression syntax"
            ))
        })
}

fn check_distributions(flag: &Flag, distributions: &[NewDistribution]) -> Result<(), MutationError> {
    for distribution in distributions {
        if !(0..=100).contains(&distribution.percent) {
            return Err(MutationError::Invalid(format!(
                "percent {} of variant {} must be between 0 and 100",
                distribution.percent, distribution.variant_id
            )));
        }
        let Some(variant) = flag.variant(distribution.variant_id) else {
            return Err(MutationError::Invalid(format!(
                "error finding variantID {} under flag {}",
                distribution.variant_id, flag.id
            )));
        };
        if variant.key != distribution.variant_key {
            return Err(MutationError::Invalid(format!(
                "variantKey {} does not match the key {} of variant {}",
                distribution.variant_key, variant.key, variant.id
            )));
        }
    }
    let sum: i64 = distributions.iter().map(|d| d.percent).sum();
    if sum != 100 {
        return Err(MutationError::Invalid(format!(
            "the sum of distributions' percent {sum} is not 100"
        )));
    }
    Ok(())
}

fn segment_mut(flag: &mut Flag, id: Id) -> Result<&mut Segment, MutationError> {
    let flag_id = flag.id;
    flag.segments
        .iter_mut()
        .find(|segment| segment.id == id)
        .ok_or_else(|| MutationError::NotFound(format!("unable to find segment {id} in flag {flag_id}")))
}

fn variant_not_found(id: Id, flag_id: Id) -> MutationError {
    MutationError::NotFound(format!("unable to find variant {id} in flag {flag_id}"))
}

fn constraint_not_found(id: Id, segment_id: Id) -> MutationError {
    MutationError::NotFound(format!("unable to find constraint {id} in segment {segment_id}"))
}

#[cfg(test)]
mod tests;
