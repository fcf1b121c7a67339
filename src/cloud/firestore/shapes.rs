//! The shape of every query this store runs (collection, filtered fields
//! and how, order), kept so that a test can check each against
//! `firestore.indexes.json`: the emulator runs any query, production
//! refuses one that lacks its composite index.

use std::collections::BTreeSet;
use std::sync::Mutex;

use ::firestore::{FirestoreQueryDirection, FirestoreQueryFilter, FirestoreQueryFilterCompare};

/// One query's shape.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueryShape {
    pub collection: String,
    /// Fields compared for equality (`==`, `in`).
    pub equal: Vec<String>,
    /// The field an `array-contains` filter is on.
    pub contains: Option<String>,
    /// A range filter's field (`<`, `>`...), which must lead the order.
    pub range: Option<String>,
    /// Ordered by, with `true` for descending; `__name__` left out.
    pub order: Vec<(String, bool)>,
}

#[derive(Default)]
pub(crate) struct Shapes(Mutex<BTreeSet<QueryShape>>);

impl Shapes {
    pub(crate) fn record(
        &self,
        collection: &str,
        filter: Option<&FirestoreQueryFilter>,
        order: &[(&str, FirestoreQueryDirection)],
    ) {
        let mut shape = QueryShape {
            collection: collection.to_owned(),
            equal: vec![],
            contains: None,
            range: None,
            order: order
                .iter()
                .filter(|(f, _)| *f != "__name__")
                .map(|(f, d)| ((*f).to_owned(), matches!(d, FirestoreQueryDirection::Descending)))
                .collect(),
        };
        if let Some(f) = filter {
            walk(f, &mut shape);
        }
        shape.equal.sort();
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(shape);
    }

    pub(crate) fn all(&self) -> Vec<QueryShape> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }
}

fn walk(f: &FirestoreQueryFilter, shape: &mut QueryShape) {
    use FirestoreQueryFilterCompare::*;
    match f {
        FirestoreQueryFilter::Composite(c) => c.for_all_filters.iter().for_each(|f| walk(f, shape)),
        FirestoreQueryFilter::Unary(_) => {}
        FirestoreQueryFilter::Compare(None) => {}
        FirestoreQueryFilter::Compare(Some(c)) => match c {
            Equal(f, _) | In(f, _) => shape.equal.push(f.clone()),
            ArrayContains(f, _) | ArrayContainsAny(f, _) => shape.contains = Some(f.clone()),
            LessThan(f, _)
            | LessThanOrEqual(f, _)
            | GreaterThan(f, _)
            | GreaterThanOrEqual(f, _)
            | NotEqual(f, _)
            | NotIn(f, _) => shape.range = Some(f.clone()),
        },
    }
}
