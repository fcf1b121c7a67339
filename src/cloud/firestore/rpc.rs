//! The few Firestore calls the store makes below the `firestore` crate's
//! fluent API, each one gRPC round trip, counted.
//!
//! Why not only the fluent API: its transactions open with a separate
//! `BeginTransaction` call and it cannot send a non-transactional atomic
//! commit with field transforms. Here the first read of a transaction begins
//! it (`newTransaction` on `BatchGetDocuments` or `RunQuery`), so a
//! read-modify-write costs two round trips (read, commit) instead of three,
//! and a blind multi-document write is one atomic `Commit`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ::firestore::FirestoreDb;
use ::firestore::gcloud_sdk::google::firestore::v1::{
    self as pb, BatchGetDocumentsRequest, CommitRequest, Document, Precondition, RollbackRequest, RunQueryRequest,
    StructuredQuery, TransactionOptions, Value, Write, batch_get_documents_request, batch_get_documents_response,
    document_transform::FieldTransform, document_transform::field_transform, precondition, run_query_request,
    transaction_options, value::ValueType, write,
};
use ::firestore::gcloud_sdk::tonic::{Code, Status};
use futures_util::StreamExt;
use serde::Serialize;

use crate::error::{Error, Result};

/// Firestore's most writes in one commit (a transaction's or not).
pub(crate) const MAX_WRITES: usize = 500;

/// A transaction's id, as Firestore hands it out.
pub(crate) type TxId = Vec<u8>;

/// Why a transaction attempt did not finish: contention (try again) or a
/// real outcome (a domain refusal or an internal error) to hand back.
pub(crate) enum TxFail {
    Aborted,
    /// A create met an existing document.
    AlreadyExists,
    /// A write that needs its document met none.
    NotFound,
    Done(Error),
}

impl From<Error> for TxFail {
    fn from(e: Error) -> Self {
        TxFail::Done(e)
    }
}

impl From<::firestore::errors::FirestoreError> for TxFail {
    fn from(e: ::firestore::errors::FirestoreError) -> Self {
        // The crate keeps the gRPC code's name in the public details.
        let aborted = matches!(&e, ::firestore::errors::FirestoreError::DatabaseError(d) if d.public.code == "Aborted");
        if aborted { TxFail::Aborted } else { TxFail::Done(Error::internal(e)) }
    }
}

impl TxFail {
    /// The failure as an error, for callers that expected no conflict.
    pub(crate) fn into_error(self) -> Error {
        match self {
            TxFail::Done(e) => e,
            TxFail::Aborted => Error::internal("firestore: aborted by contention"),
            TxFail::AlreadyExists => Error::internal("firestore: the document exists already"),
            TxFail::NotFound => Error::internal("firestore: the document does not exist"),
        }
    }
}

pub(crate) fn status_error(s: Status) -> TxFail {
    match s.code() {
        Code::Aborted => TxFail::Aborted,
        Code::AlreadyExists => TxFail::AlreadyExists,
        Code::NotFound => TxFail::NotFound,
        _ => TxFail::Done(Error::internal(format!("firestore: {:?}: {}", s.code(), s.message()))),
    }
}

pub(crate) fn firestore_error(e: ::firestore::errors::FirestoreError) -> Error {
    Error::internal(format!("firestore: {e}"))
}

/// The connection, the database's document path and a round-trip counter.
pub(crate) struct Rpc {
    pub(crate) db: FirestoreDb,
    round_trips: AtomicU64,
}

impl Rpc {
    pub(crate) fn new(db: FirestoreDb) -> Self {
        Self { db, round_trips: AtomicU64::new(0) }
    }

    /// Counts one gRPC round trip; every call that reaches Firestore goes
    /// through here first.
    pub(crate) fn trip(&self) {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    pub(crate) fn path(&self, collection: &str, id: &str) -> String {
        format!("{}/{collection}/{id}", self.db.get_documents_path())
    }

    fn read_write() -> TransactionOptions {
        TransactionOptions {
            mode: Some(transaction_options::Mode::ReadWrite(transaction_options::ReadWrite::default())),
        }
    }

    /// Reads documents by path, in order, `None` for a missing one. With
    /// `begin`, the read also begins a read-write transaction and returns it.
    pub(crate) async fn get(
        &self,
        paths: &[String],
        tx: Option<&TxId>,
        begin: bool,
    ) -> Result<(Option<TxId>, Vec<Option<Document>>), TxFail> {
        let selector = match (tx, begin) {
            (Some(id), _) => Some(batch_get_documents_request::ConsistencySelector::Transaction(id.clone())),
            (None, true) => Some(batch_get_documents_request::ConsistencySelector::NewTransaction(Self::read_write())),
            (None, false) => None,
        };
        let request = BatchGetDocumentsRequest {
            database: self.db.get_database_path().clone(),
            documents: paths.to_vec(),
            mask: None,
            request_options: None,
            consistency_selector: selector,
        };
        self.trip();
        let mut stream = self.db.client().get().batch_get_documents(request).await.map_err(status_error)?.into_inner();
        let mut began = None;
        let mut found = std::collections::HashMap::new();
        while let Some(item) = stream.next().await {
            let item = item.map_err(status_error)?;
            if !item.transaction.is_empty() {
                began = Some(item.transaction);
            }
            if let Some(batch_get_documents_response::Result::Found(doc)) = item.result {
                found.insert(doc.name.clone(), doc);
            }
        }
        if begin && tx.is_none() && began.is_none() {
            return Err(TxFail::Done(Error::internal("firestore began no transaction")));
        }
        Ok((began, paths.iter().map(|p| found.remove(p)).collect()))
    }

    /// Runs a query that begins a read-write transaction.
    pub(crate) async fn query_begin(&self, query: StructuredQuery) -> Result<(TxId, Vec<Document>), TxFail> {
        let request = RunQueryRequest {
            parent: self.db.get_documents_path().clone(),
            explain_options: None,
            request_options: None,
            query_type: Some(run_query_request::QueryType::StructuredQuery(query)),
            consistency_selector: Some(run_query_request::ConsistencySelector::NewTransaction(Self::read_write())),
        };
        self.trip();
        let mut stream = self.db.client().get().run_query(request).await.map_err(status_error)?.into_inner();
        let (mut began, mut docs) = (None, Vec::new());
        while let Some(item) = stream.next().await {
            let item = item.map_err(status_error)?;
            if !item.transaction.is_empty() {
                began = Some(item.transaction);
            }
            docs.extend(item.document);
        }
        Ok((began.ok_or_else(|| TxFail::Done(Error::internal("firestore began no transaction")))?, docs))
    }

    /// Applies `writes` atomically: in transaction `tx` if given, else as
    /// one non-transactional commit (still all-or-nothing).
    pub(crate) async fn commit(&self, tx: Option<TxId>, mut writes: Vec<Write>) -> Result<(), TxFail> {
        // The emulator takes any number; Firestore refuses a commit of more.
        debug_assert!(writes.len() <= MAX_WRITES, "a commit of {} writes", writes.len());
        // Outside a transaction, a commit that contention aborted applied
        // nothing (a transaction holding a lock on one of its documents,
        // say): it is sent again, as transact() tries a transaction again.
        // Inside one, the whole transaction is what transact() retries.
        let attempts = if tx.is_none() { ATTEMPTS } else { 1 };
        let transaction = tx.unwrap_or_default();
        for n in 0.. {
            let request = CommitRequest {
                database: self.db.get_database_path().clone(),
                writes: if n + 1 < attempts { writes.clone() } else { std::mem::take(&mut writes) },
                transaction: transaction.clone(),
                request_options: None,
            };
            self.trip();
            match self.db.client().get().commit(request).await.map_err(status_error) {
                Err(TxFail::Aborted) if n + 1 < attempts => back_off(n).await,
                Err(e) => return Err(e),
                Ok(_) => return Ok(()),
            }
        }
        unreachable!("the loop returns")
    }

    /// Ends a transaction that decided to write nothing, releasing its locks.
    pub(crate) async fn rollback(&self, tx: TxId) {
        let request =
            RollbackRequest { database: self.db.get_database_path().clone(), transaction: tx, request_options: None };
        self.trip();
        // A failed rollback only means the locks expire on their own.
        if let Err(e) = self.db.client().get().rollback(request).await {
            tracing::debug!(error = %e, "firestore rollback failed");
        }
    }

    /// Runs `attempt` until it is not aborted by contention, with a short
    /// randomised back-off (Firestore's advice for transactions).
    pub(crate) async fn transact<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, TxFail>>,
    {
        for n in 0..ATTEMPTS {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(TxFail::Done(e)) => return Err(e),
                Err(f @ (TxFail::AlreadyExists | TxFail::NotFound)) => return Err(f.into_error()),
                Err(TxFail::Aborted) => back_off(n).await,
            }
        }
        Err(Error::Internal(anyhow::Error::new(Contended(ATTEMPTS))))
    }
}

/// How many times a write that contention aborted is tried.
const ATTEMPTS: u32 = 8;

/// The wait before try `n + 1`: short, doubling, randomised (Firestore's
/// advice for transactions).
async fn back_off(n: u32) {
    let jitter = rand::random_range(0..20u64);
    tokio::time::sleep(Duration::from_millis((10 << n.min(6)) + jitter)).await;
}

/// A transaction that contention aborted every time it was tried.
#[derive(Debug)]
pub(crate) struct Contended(u32);

impl std::fmt::Display for Contended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "firestore transaction aborted {} times by contention", self.0)
    }
}

impl std::error::Error for Contended {}

/// Whether `e` is a transaction that contention kept aborting.
pub(crate) fn contended(e: &Error) -> bool {
    matches!(e, Error::Internal(cause) if cause.is::<Contended>())
}

/// Decodes a stored document into its Rust shape.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(doc: &Document) -> Result<T> {
    FirestoreDb::deserialize_doc_to(doc).map_err(firestore_error)
}

fn exists(yes: bool) -> Option<Precondition> {
    Some(Precondition { condition_type: Some(precondition::ConditionType::Exists(yes)) })
}

fn document<T: Serialize>(path: &str, obj: &T) -> Result<Document> {
    FirestoreDb::serialize_to_doc(path, obj).map_err(firestore_error)
}

/// Writes the whole document (creating or replacing it).
pub(crate) fn set<T: Serialize>(path: &str, obj: &T) -> Result<Write> {
    Ok(Write {
        update_mask: None,
        update_transforms: vec![],
        current_document: None,
        operation: Some(write::Operation::Update(document(path, obj)?)),
    })
}

/// Creates the document; the whole commit fails if it exists.
pub(crate) fn create<T: Serialize>(path: &str, obj: &T) -> Result<Write> {
    Ok(Write { current_document: exists(false), ..set(path, obj)? })
}

/// Sets only the fields `obj` serialises to, on an existing document.
pub(crate) fn patch<T: Serialize>(path: &str, obj: &T) -> Result<Write> {
    let doc = document(path, obj)?;
    let mask = pb::DocumentMask { field_paths: doc.fields.keys().cloned().collect() };
    Ok(Write {
        update_mask: Some(mask),
        update_transforms: vec![],
        current_document: exists(true),
        operation: Some(write::Operation::Update(doc)),
    })
}

pub(crate) fn delete(path: &str) -> Write {
    Write {
        update_mask: None,
        update_transforms: vec![],
        current_document: None,
        operation: Some(write::Operation::Delete(path.to_owned())),
    }
}

/// Field transforms applied on the server, after the write they belong to.
pub(crate) fn with_transforms(mut w: Write, transforms: Vec<FieldTransform>) -> Write {
    w.update_transforms = transforms;
    w
}

/// Applies only `transforms` to a document, creating it if it is missing.
pub(crate) fn transform(path: &str, transforms: Vec<FieldTransform>) -> Write {
    Write {
        update_mask: Some(pb::DocumentMask { field_paths: vec![] }),
        update_transforms: transforms,
        current_document: None,
        operation: Some(write::Operation::Update(Document { name: path.to_owned(), ..Default::default() })),
    }
}

pub(crate) fn increment(field: &str, by: i64) -> FieldTransform {
    FieldTransform {
        field_path: field.to_owned(),
        transform_type: Some(field_transform::TransformType::Increment(Value {
            value_type: Some(ValueType::IntegerValue(by)),
        })),
    }
}

/// `maximum`: the larger of the field and `of` (`of` where it is missing).
pub(crate) fn maximum(field: &str, of: i64) -> FieldTransform {
    FieldTransform {
        field_path: field.to_owned(),
        transform_type: Some(field_transform::TransformType::Maximum(Value {
            value_type: Some(ValueType::IntegerValue(of)),
        })),
    }
}

fn strings(values: &[String]) -> pb::ArrayValue {
    pb::ArrayValue {
        values: values.iter().map(|v| Value { value_type: Some(ValueType::StringValue(v.clone())) }).collect(),
    }
}

/// `arrayUnion`: adds the values not in the array yet.
pub(crate) fn array_union(field: &str, values: &[String]) -> FieldTransform {
    FieldTransform {
        field_path: field.to_owned(),
        transform_type: Some(field_transform::TransformType::AppendMissingElements(strings(values))),
    }
}

/// `arrayRemove`: removes every occurrence of the values.
pub(crate) fn array_remove(field: &str, values: &[String]) -> FieldTransform {
    FieldTransform {
        field_path: field.to_owned(),
        transform_type: Some(field_transform::TransformType::RemoveAllFromArray(strings(values))),
    }
}

/// The write fails the whole commit unless the document exists.
pub(crate) fn if_exists(mut w: Write) -> Write {
    w.current_document = exists(true);
    w
}

pub(crate) fn request_time(field: &str) -> FieldTransform {
    FieldTransform {
        field_path: field.to_owned(),
        transform_type: Some(field_transform::TransformType::SetToServerValue(
            field_transform::ServerValue::RequestTime as i32,
        )),
    }
}

/// `field == value` on one top-level collection, as a raw query.
pub(crate) fn equal_query(collection: &str, field: &str, value: &str) -> StructuredQuery {
    use pb::structured_query::{CollectionSelector, FieldFilter, FieldReference, Filter, field_filter, filter};
    StructuredQuery {
        from: vec![CollectionSelector { collection_id: collection.to_owned(), all_descendants: false }],
        r#where: Some(Filter {
            filter_type: Some(filter::FilterType::FieldFilter(FieldFilter {
                field: Some(FieldReference { field_path: field.to_owned() }),
                op: field_filter::Operator::Equal as i32,
                value: Some(Value { value_type: Some(ValueType::StringValue(value.to_owned())) }),
            })),
        }),
        ..Default::default()
    }
}
