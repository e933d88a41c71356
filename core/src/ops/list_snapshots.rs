//! `GET /v1/snapshots`: one page of the organization's snapshots.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::exchange::Exchange;
use crate::model::{FieldProblem, SnapshotList, decode_json};
use crate::operation::Operation;
use crate::validate;

/// The field snapshots are sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    /// Creation time (the default).
    #[default]
    CreatedAt,
    /// Template id.
    TemplateId,
}

/// The sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderBy {
    /// Ascending.
    Asc,
    /// Descending (the default).
    #[default]
    Desc,
}

impl SortBy {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SortBy::CreatedAt => "created_at",
            SortBy::TemplateId => "template_id",
        }
    }
}

impl OrderBy {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderBy::Asc => "asc",
            OrderBy::Desc => "desc",
        }
    }
}

impl FromStr for SortBy {
    type Err = FieldProblem;

    fn from_str(s: &str) -> Result<Self, FieldProblem> {
        match s {
            "created_at" => Ok(SortBy::CreatedAt),
            "template_id" => Ok(SortBy::TemplateId),
            other => Err(FieldProblem::new(
                "sort",
                format!("must be created_at or template_id, got {other:?}"),
            )),
        }
    }
}

impl FromStr for OrderBy {
    type Err = FieldProblem;

    fn from_str(s: &str) -> Result<Self, FieldProblem> {
        match s {
            "asc" => Ok(OrderBy::Asc),
            "desc" => Ok(OrderBy::Desc),
            other => Err(FieldProblem::new(
                "order_by",
                format!("must be asc or desc, got {other:?}"),
            )),
        }
    }
}

impl fmt::Display for SortBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for OrderBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// List one page of snapshots. All five parameters are always sent, as the
/// official SDK does.
///
/// ```
/// # use leap0_core::{ListSnapshots, Config, Exchange, OrderBy};
/// let listing = ListSnapshots::default().query("warm").order_by(OrderBy::Asc).page_size(50);
/// let request = listing.request(&Config::new("key")?)?;
/// assert_eq!(
///     request.uri().path_and_query().map(|p| p.as_str()),
///     Some("/v1/snapshots?query=warm&sort=created_at&order-by=asc&page=1&page-size=50")
/// );
/// # Ok::<(), leap0_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ListSnapshots {
    /// Filter on the snapshot name (at most 64 characters).
    pub query: String,
    /// Sort field.
    pub sort: SortBy,
    /// Sort direction.
    pub order_by: OrderBy,
    /// 1-based page number.
    pub page: u64,
    /// Items per page (1 to 100).
    pub page_size: u64,
}

impl Default for ListSnapshots {
    fn default() -> Self {
        ListSnapshots {
            query: String::new(),
            sort: SortBy::CreatedAt,
            order_by: OrderBy::Desc,
            page: 1,
            page_size: 20,
        }
    }
}

impl ListSnapshots {
    /// Filters on the snapshot name.
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = query.into();
        self
    }

    /// Sorts by `sort`.
    pub fn sort(mut self, sort: SortBy) -> Self {
        self.sort = sort;
        self
    }

    /// Sorts in `order`.
    pub fn order_by(mut self, order: OrderBy) -> Self {
        self.order_by = order;
        self
    }

    /// Asks for page `page` (from 1).
    pub fn page(mut self, page: u64) -> Self {
        self.page = page;
        self
    }

    /// Asks for `size` items per page (1 to 100).
    pub fn page_size(mut self, size: u64) -> Self {
        self.page_size = size;
        self
    }

    /// The same listing, at another page.
    pub fn at_page(&self, page: u64) -> Self {
        self.clone().page(page)
    }
}

impl Exchange for ListSnapshots {
    type Output = SnapshotList;
    const OPERATION: Operation = Operation::ListSnapshots;
    type PathParams<'a> = [&'a str; 0];

    fn path_params(&self) -> [&str; 0] {
        []
    }

    fn query(&self) -> Result<Option<String>, FieldProblem> {
        validate::at_most_chars("query", &self.query, validate::MAX_NAME_CHARS)?;
        validate::in_range("page", self.page, (1, u64::MAX))?;
        validate::in_range("page_size", self.page_size, validate::PAGE_SIZE_RANGE)?;
        Ok(Some(format!(
            "query={}&sort={}&order-by={}&page={}&page-size={}",
            validate::query_value(&self.query),
            self.sort,
            self.order_by,
            self.page,
            self.page_size
        )))
    }

    fn decode(&self, body: &[u8]) -> Result<SnapshotList, FieldProblem> {
        decode_json(body)
    }
}
