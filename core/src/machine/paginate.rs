//! [`Paginate`]: every page of a listing, stitched in order.

use super::{Action, Machine, Outcome, Retry};
use crate::config::Config;
use crate::error::Error;
use crate::exchange::Exchange;
use crate::model::{Snapshot, SnapshotList};
use crate::ops::ListSnapshots;
use crate::time::Timestamp;
use crate::transport::{Response, TransportError};

/// A listing that can be walked page by page.
pub trait Paged: Exchange + Sized {
    /// One listed item.
    type Item;
    /// The same listing at another page.
    fn at_page(&self, page: u64) -> Self;
    /// The page this request asks for.
    fn page(&self) -> u64;
    /// Splits a page into its items and the total across all pages.
    fn split(page: Self::Output) -> (Vec<Self::Item>, u64);
}

impl Paged for ListSnapshots {
    type Item = Snapshot;

    fn at_page(&self, page: u64) -> Self {
        ListSnapshots::at_page(self, page)
    }

    fn page(&self) -> u64 {
        self.page
    }

    fn split(page: SnapshotList) -> (Vec<Snapshot>, u64) {
        (page.items, page.total_items)
    }
}

/// Fetches pages from the requested one on, each under [`Retry`], until
/// `total_items` items are collected or a page comes back empty (so a server that
/// overstates its total cannot keep us looping). One total deadline covers all
/// pages.
pub struct Paginate<P: Paged> {
    config: Config,
    current: Retry<P>,
    items: Vec<P::Item>,
    started: bool,
    deadline: Option<Timestamp>,
    finished: Option<Outcome<(Vec<P::Item>, u64)>>,
}

impl<P: Paged> Paginate<P> {
    /// Walks `listing` from its page on.
    pub fn new(listing: P, config: &Config) -> Self {
        Paginate {
            current: Retry::new(listing, config),
            config: config.clone(),
            items: Vec::new(),
            started: false,
            deadline: None,
            finished: None,
        }
    }
}

impl Paginate<ListSnapshots> {
    /// Walks a snapshot listing and returns one [`SnapshotList`].
    pub fn snapshots(
        listing: ListSnapshots,
        config: &Config,
    ) -> impl Machine<Output = SnapshotList> {
        super::Map::new(Paginate::new(listing, config), |(items, total_items)| {
            SnapshotList { items, total_items }
        })
    }
}

impl<P: Paged> Machine for Paginate<P> {
    /// All items, and the server's last reported total.
    type Output = (Vec<P::Item>, u64);

    fn poll(&mut self, now: Timestamp) -> Action<Self::Output> {
        if let Some(outcome) = &mut self.finished {
            return outcome.take();
        }
        if !self.started {
            self.started = true;
            self.deadline = self.config.retry().total_deadline.map(|d| now + d);
        }
        loop {
            let page = match self.current.poll(now) {
                Action::Done(Ok(page)) => page,
                Action::Done(Err(e)) => {
                    self.finished = Some(Outcome::new(Err(e)));
                    return self.poll(now);
                }
                other @ (Action::Send(_) | Action::WaitUntil(_)) => return other.map_done(),
            };
            let (mut items, total) = P::split(page);
            let empty = items.is_empty();
            self.items.append(&mut items);
            if empty || self.items.len() as u64 >= total {
                let items = std::mem::take(&mut self.items);
                self.finished = Some(Outcome::new(Ok((items, total))));
                return self.poll(now);
            }
            let next = self.current.exchange().page().saturating_add(1);
            let listing = self.current.exchange().at_page(next);
            self.current = Retry::new(listing, &self.config).with_deadline(self.deadline);
        }
    }

    fn handle_response(&mut self, now: Timestamp, response: Response) {
        self.current.handle_response(now, response);
    }

    fn handle_transport_error(&mut self, now: Timestamp, error: TransportError) {
        self.current.handle_transport_error(now, error);
    }
}

impl<T> Action<T> {
    /// Re-types a `Send` or `WaitUntil` (which carry no result).
    ///
    /// `Done` has no meaningful conversion and becomes misuse; callers only use
    /// this on the other two variants.
    pub(crate) fn map_done<U>(self) -> Action<U> {
        match self {
            Action::Send(attempt) => Action::Send(attempt),
            Action::WaitUntil(t) => Action::WaitUntil(t),
            Action::Done(_) => Action::Done(Err(Error::Misuse(super::misuse::POLL_AFTER_DONE))),
        }
    }
}
