//! [`Paginate`]: every page of a listing, stitched in order, within limits.

use std::collections::HashSet;

use super::telemetry::{Telemetry, WaitReason};
use super::{Action, Machine, Outcome, Retry};
use crate::config::{Config, PaginationLimits};
use crate::error::{DecodeError, Error, Limit};
use crate::exchange::Exchange;
use crate::model::{Snapshot, SnapshotList};
use crate::operation::Operation;
use crate::ops::ListSnapshots;
use crate::time::Timestamp;
use crate::transport::{Response, TransportError};

/// A listing that can be walked page by page.
pub trait Paged: Exchange + Sized {
    /// One listed item.
    type Item;
    /// The same listing at another page.
    fn at_page(&self, page: u64) -> Self;
    /// The page this request asks for (from 1).
    fn page(&self) -> u64;
    /// How many items a page holds at most.
    fn page_size(&self) -> u64;
    /// Splits a page into its items and the total across all pages.
    fn split(page: Self::Output) -> (Vec<Self::Item>, u64);
    /// An item's unique id (repeats are dropped; a page of nothing but
    /// repeats stops the walk).
    fn item_id(item: &Self::Item) -> &str;
    /// Puts the collected items back into one answer.
    fn assemble(items: Vec<Self::Item>, total: u64) -> Self::Output;
}

impl Paged for ListSnapshots {
    type Item = Snapshot;

    fn at_page(&self, page: u64) -> Self {
        ListSnapshots::at_page(self, page)
    }

    fn page(&self) -> u64 {
        self.page
    }

    fn page_size(&self) -> u64 {
        self.page_size
    }

    fn split(page: SnapshotList) -> (Vec<Snapshot>, u64) {
        (page.items, page.total_items)
    }

    fn item_id(item: &Snapshot) -> &str {
        &item.id
    }

    fn assemble(items: Vec<Snapshot>, total: u64) -> SnapshotList {
        SnapshotList::new(items, total)
    }
}

/// Fetches pages from the requested one on, each under [`Retry`], until a
/// page comes back short or empty, or `total_items` items are collected from
/// full pages. One total deadline covers all pages.
///
/// `total_items` is a count read apart from the page (concurrent creates, a
/// cached count): every item received is kept even when the count says there
/// are fewer, and once more items have come than it says, only a short or
/// empty page ends the walk. The listing's `total_items` is then the number
/// of items collected.
///
/// A server cannot make it loop or grow without bound:
///
/// - it stops with [`Error::LimitReached`] after
///   [`PaginationLimits::max_pages`] pages, or as soon as a page reports, or
///   the walk collects, more than [`PaginationLimits::max_items`] items;
/// - a page holding more items than were asked for is a [`Error::Decode`]
///   error;
/// - items seen on an earlier page are dropped (a listing shifted by a new
///   snapshot repeats one), and a page of nothing but repeats is a
///   [`Error::Decode`] error: the server is not advancing.
pub struct Paginate<P: Paged> {
    config: Config,
    current: Retry<P>,
    items: Vec<P::Item>,
    seen: HashSet<String>,
    pages: u64,
    started: bool,
    deadline: Option<Timestamp>,
    finished: Option<Outcome<P::Output>>,
    telemetry: Telemetry,
}

impl<P: Paged> Paginate<P> {
    /// Walks `listing` from its page on.
    pub fn new(listing: P, config: &Config) -> Self {
        let telemetry = Telemetry::call(P::OPERATION);
        Paginate {
            current: Retry::within(listing, config, telemetry.clone()),
            telemetry,
            config: config.clone(),
            items: Vec::new(),
            seen: HashSet::new(),
            pages: 0,
            started: false,
            deadline: None,
            finished: None,
        }
    }

    fn limits(&self) -> &PaginationLimits {
        self.config.pagination()
    }

    /// Takes in one page; `Some(result)` when the walk is over.
    fn absorb(&mut self, page: P::Output) -> Option<Result<P::Output, Error>> {
        let listing = self.current.exchange();
        let (number, size) = (listing.page(), listing.page_size());
        let (items, total) = P::split(page);
        self.pages += 1;
        let held = items.len() as u64;
        if held > size {
            return Some(Err(self.bad_page(
                "items",
                format!("page {number} holds {held} items, more than the {size} asked for"),
            )));
        }
        let limits = *self.limits();
        if total > limits.max_items {
            return Some(Err(self.limit(Limit::Items(limits.max_items), total)));
        }
        let before = self.items.len();
        for item in items {
            if self.seen.insert(P::item_id(&item).to_owned()) {
                self.items.push(item);
            }
        }
        if held > 0 && self.items.len() == before {
            return Some(Err(self.bad_page(
                "items",
                format!(
                    "page {number} repeats only snapshots of earlier pages: the server is not advancing"
                ),
            )));
        }
        if self.items.len() as u64 > limits.max_items {
            return Some(Err(self.limit(Limit::Items(limits.max_items), total)));
        }
        let collected = self.items.len() as u64;
        self.telemetry.page(number, held, collected);
        // A short or empty page is the last. A full page ends the walk when the
        // count is reached exactly; past it, the count is stale and says nothing.
        if held < size || collected == total {
            let items = std::mem::take(&mut self.items);
            return Some(Ok(P::assemble(items, total.max(collected))));
        }
        if self.pages >= limits.max_pages {
            return Some(Err(self.limit(Limit::Pages(limits.max_pages), total)));
        }
        None
    }

    fn bad_page(&self, field: &str, reason: String) -> Error {
        DecodeError {
            operation: P::OPERATION,
            field: field.to_owned(),
            reason,
            excerpt: String::new(),
        }
        .into()
    }

    fn limit(&self, limit: Limit, total_items: u64) -> Error {
        Error::LimitReached {
            operation: P::OPERATION,
            limit,
            pages: self.pages,
            items: self.items.len() as u64,
            total_items,
        }
    }
}

impl<P: Paged> Machine for Paginate<P> {
    type Output = P::Output;

    fn operation(&self) -> Option<Operation> {
        Some(P::OPERATION)
    }

    fn poll(&mut self, now: Timestamp) -> Action<Self::Output> {
        if let Some(outcome) = &mut self.finished {
            return outcome.take();
        }
        if !self.started {
            self.started = true;
            self.deadline = self.config.retry().total_deadline.map(|d| now + d);
        }
        loop {
            let page = match self.current.poll(now).split() {
                Ok(Ok(page)) => page,
                Ok(Err(e)) => {
                    self.finished = Some(Outcome::new(Err(e)));
                    return self.poll(now);
                }
                Err(pending) => return pending,
            };
            if let Some(result) = self.absorb(page) {
                self.finished = Some(Outcome::new(result));
                return self.poll(now);
            }
            let next = self.current.exchange().page().saturating_add(1);
            let listing = self.current.exchange().at_page(next);
            self.current = Retry::within(listing, &self.config, self.telemetry.clone())
                .with_deadline(self.deadline);
        }
    }

    fn wait_reason(&self) -> Option<WaitReason> {
        self.current.wait_reason()
    }

    fn handle_response(&mut self, now: Timestamp, response: Response) {
        self.current.handle_response(now, response);
    }

    fn handle_transport_error(&mut self, now: Timestamp, error: TransportError) {
        self.current.handle_transport_error(now, error);
    }
}
