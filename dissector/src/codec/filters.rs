//! The topic-filter lists of SUBSCRIBE (MQTT 5.0 §3.8.3) and UNSUBSCRIBE (§3.10.3): validated
//! once at decode time, iterated lazily afterwards.

use super::types::{MqttStr, SubscribeFilters, SubscriptionOptions, UnsubscribeFilters};
use super::wire::{byte, length_prefixed};

/// Lazy iterator over the (topic filter, subscription options) pairs of a SUBSCRIBE. It ends at
/// the end of the list, or at a malformed entry (`decode` has rejected those already).
#[derive(Debug, Clone)]
pub struct SubscribeFilterIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for SubscribeFilterIter<'a> {
    type Item = (MqttStr<'a>, SubscriptionOptions);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (rest, filter) = length_prefixed(self.rest).ok()?;
        let (rest, options) = byte(rest).ok()?;
        self.rest = rest;
        Some((MqttStr(filter), SubscriptionOptions(options)))
    }
}

impl std::iter::FusedIterator for SubscribeFilterIter<'_> {}

impl<'a> SubscribeFilters<'a> {
    /// The (filter, options) pairs in wire order.
    pub fn iter(&self) -> SubscribeFilterIter<'a> {
        SubscribeFilterIter { rest: self.raw }
    }
    /// Number of filters (walks the list).
    pub fn len(&self) -> usize {
        self.iter().count()
    }
    /// True when the list holds no filter.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl<'a> IntoIterator for &SubscribeFilters<'a> {
    type Item = (MqttStr<'a>, SubscriptionOptions);
    type IntoIter = SubscribeFilterIter<'a>;
    fn into_iter(self) -> SubscribeFilterIter<'a> {
        self.iter()
    }
}

/// Lazy iterator over the topic filters of an UNSUBSCRIBE.
#[derive(Debug, Clone)]
pub struct UnsubscribeFilterIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for UnsubscribeFilterIter<'a> {
    type Item = MqttStr<'a>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (rest, filter) = length_prefixed(self.rest).ok()?;
        self.rest = rest;
        Some(MqttStr(filter))
    }
}

impl std::iter::FusedIterator for UnsubscribeFilterIter<'_> {}

impl<'a> UnsubscribeFilters<'a> {
    /// The filters in wire order.
    pub fn iter(&self) -> UnsubscribeFilterIter<'a> {
        UnsubscribeFilterIter { rest: self.raw }
    }
    /// Number of filters (walks the list).
    pub fn len(&self) -> usize {
        self.iter().count()
    }
    /// True when the list holds no filter.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl<'a> IntoIterator for &UnsubscribeFilters<'a> {
    type Item = MqttStr<'a>;
    type IntoIter = UnsubscribeFilterIter<'a>;
    fn into_iter(self) -> UnsubscribeFilterIter<'a> {
        self.iter()
    }
}
