//! One LDV record: one action, about at most one data subject.

use std::borrow::Cow;

use loket_core::{SpanId, TraceId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::Pseudonym;
use crate::merkle::{Hash, leaf_hash};
pub use loket_core::merkle::leaf_input;

/// The outcome of the action (LDV `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Unset,
    Ok,
    Error,
}

/// Whether this end sent or received the request (FSC logging's `direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Direction {
    #[serde(rename = "DIRECTION_OUTGOING")]
    Outgoing,
    #[serde(rename = "DIRECTION_INCOMING")]
    Incoming,
}

/// What the exchange knows about the request the action was part of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exchange {
    pub transaction_id: String,
    pub direction: Direction,
    /// The grant the request was made under; absent when none was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_hash: Option<String>,
    /// OIN of the organisation that asked.
    pub source_peer_id: String,
    /// OIN of the organisation that provides the service.
    pub destination_peer_id: String,
    pub service_name: String,
    /// At the provider's end: the processing activity the asking organisation stated (an
    /// id in its own register), `Some(None)` (written as `null`) when it stated none;
    /// the record itself names the provider's own activity (LDV: every record names an
    /// activity of its organisation's register). `None` (left out) at the asking end,
    /// whose record names what was stated, and in a provider's records from before.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "loket_core::present::present"
    )]
    pub stated_processing_activity_id: Option<Option<String>>,
    /// The fields the request asked for (a Haal Centraal `fields` list), so the resident
    /// can read which data was used; empty when the request names none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// The FSC error code when the request was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

/// A record about to be appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub name: String,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub status: Status,
    /// The processing activity of this log's organisation the action was for (its own
    /// register's); `None` when there is none (a request that stated none).
    pub processing_activity_id: Option<String>,
    pub data_subject: Option<Pseudonym>,
    pub exchange: Option<Exchange>,
}

/// The stored form, shaped as LDV's `ProcessingActivity` (the inzage API returns it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    pub trace_id: String,
    pub span_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    pub name: String,
    /// Milliseconds since the epoch, as LDV has it.
    pub start_time: i64,
    pub end_time: i64,
    pub status: Status,
    pub attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributes {
    #[serde(
        rename = "dpl.core.processing_activity_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub processing_activity_id: Option<String>,
    #[serde(
        rename = "dpl.core.data_subject_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub data_subject_id: Option<Pseudonym>,
    #[serde(
        rename = "dpl.core.data_subject_id_type",
        skip_serializing_if = "Option::is_none"
    )]
    pub data_subject_id_type: Option<String>,
    #[serde(rename = "loket.exchange", skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Exchange>,
}

pub(crate) fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl NewRecord {
    pub fn body(&self) -> Body {
        Body {
            trace_id: self.trace_id.to_string(),
            span_id: self.span_id.to_string(),
            parent_span_id: self.parent_span_id.map(|s| s.to_string()),
            name: self.name.clone(),
            start_time: millis(self.start),
            end_time: millis(self.end),
            status: self.status,
            attributes: Attributes {
                processing_activity_id: self.processing_activity_id.clone(),
                data_subject_id_type: self.data_subject.as_ref().map(|_| "BSN".to_owned()),
                data_subject_id: self.data_subject.clone(),
                exchange: self.exchange.clone(),
            },
        }
    }
}

/// A record as it is stored: the columns plus the exact body text that was hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub index: u64,
    pub trace_id: Option<String>,
    pub subject: Option<String>,
    pub activity: Option<String>,
    pub start_ms: i64,
    /// Unix seconds after which the body may be pruned.
    pub expires_at: i64,
    /// `None` once pruned.
    pub body: Option<String>,
    pub body_digest: Hash,
    pub leaf_hash: Hash,
}

/// What a stored body says about the columns the store finds a record by.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Said<'a> {
    #[serde(borrow)]
    trace_id: Cow<'a, str>,
    start_time: i64,
    #[serde(borrow)]
    attributes: SaidAttributes<'a>,
}

#[derive(Deserialize)]
struct SaidAttributes<'a> {
    #[serde(rename = "dpl.core.processing_activity_id", borrow, default)]
    processing_activity_id: Option<Cow<'a, str>>,
    #[serde(rename = "dpl.core.data_subject_id", borrow, default)]
    data_subject_id: Option<Cow<'a, str>>,
}

impl Entry {
    /// Do the columns the store finds this record by (trace, subject, activity, start)
    /// say what its hashed body says? The leaf covers only the body, so a column changed
    /// behind the log's back shows only here. A pruned record has no body to compare.
    pub fn columns_match_body(&self) -> bool {
        let Some(body) = &self.body else {
            return true;
        };
        let Ok(said) = serde_json::from_str::<Said<'_>>(body) else {
            return false;
        };
        self.trace_id.as_deref() == Some(&*said.trace_id)
            && self.start_ms == said.start_time
            && self.subject.as_deref() == said.attributes.data_subject_id.as_deref()
            && self.activity.as_deref() == said.attributes.processing_activity_id.as_deref()
    }

    /// Build the stored entry for a record at `index`.
    pub fn new(index: u64, record: &NewRecord, expires_at: i64) -> Result<Self, serde_json::Error> {
        let body = serde_json::to_string(&record.body())?;
        let body_digest: Hash = Sha256::digest(body.as_bytes()).into();
        Ok(Self {
            index,
            trace_id: Some(record.trace_id.to_string()),
            subject: record.data_subject.as_ref().map(|p| p.as_str().to_owned()),
            activity: record.processing_activity_id.clone(),
            start_ms: millis(record.start),
            expires_at,
            leaf_hash: leaf_hash(&leaf_input(index, expires_at, &body_digest)),
            body: Some(body),
            body_digest,
        })
    }
}
