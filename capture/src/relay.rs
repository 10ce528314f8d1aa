//! Running the consumer of a pipeline's events on a second thread.
//!
//! Reading, reassembling and framing a capture costs about as much CPU as decoding and
//! analysing what it yields, and the two are strictly ordered stages. [`offload`] runs the
//! producer (a [`Pipeline`](crate::pipeline::Pipeline) over a file or an interface) on the
//! calling thread and the consumer (the analyzer, a printer) on a scoped worker thread, so the
//! slower stage sets the pace instead of the sum of both.
//!
//! Events borrow their MQTT bytes from the pipeline's buffers, so the producer side copies each
//! event into a batch (one byte arena plus the events, packet bytes as ranges into it) and
//! sends whole batches over a bounded channel; the worker replays them, in order, as the same
//! [`StreamEvent`]s. Batches go back to the producer for reuse. Memory in flight is bounded by
//! [`DEPTH`] batches of about [`BATCH_BYTES`] each (a batch holding one packet larger than that
//! grows to fit it; the pipeline's payload limit bounds that), plus the emptied packet buffers
//! travelling back, at most 4 MiB of them per batch.

use std::sync::mpsc::{Receiver, Sender, SyncSender, TryRecvError, channel, sync_channel};

use dissector::input::{Direction, EventSink, FrameSeen, MqttBytes, StreamEvent, Timestamp};

/// A batch is sent once its byte arena holds this much.
pub const BATCH_BYTES: usize = 256 << 10;
/// … or once it holds this many events (frames without MQTT bytes are events too).
pub const BATCH_EVENTS: usize = 2048;
/// Batches queued between the two threads at most (the producer blocks beyond).
pub const DEPTH: usize = 8;
/// A recycled batch whose arena grew past this (one huge packet) gets a fresh arena.
const KEEP_CAPACITY: usize = 4 * BATCH_BYTES;
/// Packets assembled in a buffer of their own from this size on travel in that buffer
/// instead of being copied into the arena.
const OWN_FROM: usize = 4096;
/// Emptied packet buffers a batch carries back to the producer at most…
const MAX_SPARES: usize = 64;
/// … and their capacity in all (a capture of huge packets must not park gigabytes here).
const MAX_SPARE_BYTES: usize = 4 << 20;
/// Batches in existence at most: the queue, one being replayed, one being filled. Reusing
/// them keeps allocation (and the page faults of fresh memory) out of the loop.
const POOL: usize = DEPTH + 2;

/// A packet's event without its bytes, which are `start..start + len` of the batch's arena.
/// Kept apart from [`StreamEvent`] because packets and frames are nearly every event and a
/// smaller item is cheaper to store and move than the whole enum.
struct PacketItem {
    stream: u32,
    dir: Direction,
    truncated: bool,
    ts: Timestamp,
    first_frame: u64,
    frame: u64,
    stream_offset: u64,
    tcp_seq: Option<u32>,
    packet_len: u64,
    start: usize,
    len: usize,
}

/// One event of a batch.
enum Item {
    Packet(PacketItem),
    /// A packet whose bytes are the next of the batch's `owned` buffers (taken from the
    /// producer instead of copied: see [`EventSink::packet_in_buffer`]).
    OwnedPacket(PacketItem),
    Frame(FrameSeen),
    /// Any other event (rare: connections opening and closing, gaps, issues): the next one
    /// of the batch's `others`.
    Other,
}

/// Events of a batch and the bytes their packets borrow.
#[derive(Default)]
struct Batch {
    /// Packet bytes, back to back.
    bytes: Vec<u8>,
    /// The events, in order.
    items: Vec<Item>,
    /// The events that are neither packets nor frames.
    others: Vec<StreamEvent<'static>>,
    /// Buffers of owned packets, in order.
    owned: Vec<Vec<u8>>,
    /// Bytes in `owned` (they count towards the batch's size).
    owned_bytes: usize,
    /// Emptied buffers travelling back to the producer, to be given to it in exchange for
    /// the next buffers it hands over.
    spares: Vec<Vec<u8>>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            // Room for a full batch plus the packet that fills it.
            bytes: Vec::with_capacity(BATCH_BYTES + (64 << 10)),
            items: Vec::with_capacity(BATCH_EVENTS),
            others: Vec::new(),
            owned: Vec::new(),
            owned_bytes: 0,
            spares: Vec::new(),
        }
    }

    fn push(&mut self, event: StreamEvent<'_>) {
        let item = match event {
            StreamEvent::Packet(p) => {
                let start = self.bytes.len();
                self.bytes.extend_from_slice(p.bytes);
                Item::Packet(PacketItem::new(&p, start, p.bytes.len()))
            }
            StreamEvent::Frame(f) => Item::Frame(f),
            other => {
                self.others.push(owned(other));
                Item::Other
            }
        };
        self.items.push(item);
    }

    /// Takes the producer's buffer holding a whole packet, leaving a spare in its place: the
    /// largest one, so the framer's next packet rarely outgrows it (growing a buffer copies
    /// what it holds and faults in fresh pages, on the producer's thread).
    fn push_owned(&mut self, p: MqttBytes<'static>, buf: &mut Vec<u8>) {
        let largest = (0..self.spares.len()).max_by_key(|&i| self.spares[i].capacity());
        // None at hand (the first batches, before any came back): a buffer as large as the one
        // taken, so the framer's next packet does not grow one from nothing by copying.
        let spare = largest
            .map(|i| self.spares.swap_remove(i))
            .unwrap_or_else(|| Vec::with_capacity(buf.capacity()));
        let bytes = std::mem::replace(buf, spare);
        self.owned_bytes += bytes.len();
        self.items
            .push(Item::OwnedPacket(PacketItem::new(&p, 0, bytes.len())));
        self.owned.push(bytes);
    }

    fn is_full(&self) -> bool {
        self.bytes.len() + self.owned_bytes >= BATCH_BYTES || self.items.len() >= BATCH_EVENTS
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Drops every event, keeping the allocations.
    fn clear(&mut self) {
        self.bytes.clear();
        self.items.clear();
        self.others.clear();
        self.owned.clear();
        self.owned_bytes = 0;
    }

    /// Hands every event to `sink`, in order, with its packet's bytes borrowed from the arena.
    fn replay(&mut self, sink: &mut dyn EventSink) {
        let mut spare_bytes: usize = self.spares.iter().map(Vec::capacity).sum();
        let mut others = self.others.drain(..);
        let mut owned = self.owned.drain(..);
        for item in self.items.drain(..) {
            match item {
                Item::Packet(p) => {
                    let bytes = self.bytes.get(p.start..p.start + p.len).unwrap_or_default();
                    sink.event(StreamEvent::Packet(p.with_bytes(bytes)));
                }
                Item::OwnedPacket(p) => {
                    if let Some(mut buf) = owned.next() {
                        sink.event(StreamEvent::Packet(p.with_bytes(&buf)));
                        if self.spares.len() < MAX_SPARES
                            && spare_bytes + buf.capacity() <= MAX_SPARE_BYTES
                        {
                            spare_bytes += buf.capacity();
                            buf.clear();
                            self.spares.push(buf);
                        }
                    }
                }
                Item::Frame(f) => sink.event(StreamEvent::Frame(f)),
                // `others` holds these in the order their items were pushed.
                Item::Other => {
                    if let Some(e) = others.next() {
                        sink.event(e);
                    }
                }
            }
        }
        drop(others);
        drop(owned);
        self.owned_bytes = 0;
        self.bytes.clear();
    }
}

impl PacketItem {
    /// `p` without its bytes, which are `start..start + len` of wherever they are kept.
    fn new(p: &MqttBytes<'_>, start: usize, len: usize) -> PacketItem {
        PacketItem {
            stream: p.stream,
            dir: p.dir,
            truncated: p.truncated,
            ts: p.ts,
            first_frame: p.first_frame,
            frame: p.frame,
            stream_offset: p.stream_offset,
            tcp_seq: p.tcp_seq,
            packet_len: p.packet_len,
            start,
            len,
        }
    }

    /// The event again, with `bytes` as its packet's bytes.
    fn with_bytes<'b>(&self, bytes: &'b [u8]) -> MqttBytes<'b> {
        MqttBytes {
            stream: self.stream,
            dir: self.dir,
            ts: self.ts,
            first_frame: self.first_frame,
            frame: self.frame,
            stream_offset: self.stream_offset,
            tcp_seq: self.tcp_seq,
            bytes,
            packet_len: self.packet_len,
            truncated: self.truncated,
        }
    }
}

/// An event that borrows nothing, as one of any lifetime (packets never come here).
fn owned(event: StreamEvent<'_>) -> StreamEvent<'static> {
    match event {
        StreamEvent::Opened(o) => StreamEvent::Opened(o),
        StreamEvent::Frame(f) => StreamEvent::Frame(f),
        StreamEvent::Gap(g) => StreamEvent::Gap(g),
        StreamEvent::Issue(i) => StreamEvent::Issue(i),
        StreamEvent::Tls(t) => StreamEvent::Tls(t),
        StreamEvent::Closed(c) => StreamEvent::Closed(c),
        // Unreachable from `push`; an empty packet keeps this total without a panic.
        StreamEvent::Packet(p) => StreamEvent::Packet(PacketItem::new(&p, 0, 0).with_bytes(&[])),
    }
}

/// The producer's end: an [`EventSink`] that fills batches and ships them to the worker.
struct Shipper {
    current: Batch,
    full: SyncSender<Batch>,
    empty: Receiver<Batch>,
    /// Batches made so far (at most [`POOL`]).
    made: usize,
    /// Set once the worker is gone (it panicked): events are dropped from then on.
    closed: bool,
}

impl Shipper {
    /// A shipper with one batch to fill, sending full ones on `full`, getting emptied ones back
    /// from `empty`.
    fn new(full: SyncSender<Batch>, empty: Receiver<Batch>) -> Shipper {
        Shipper {
            current: Batch::new(),
            full,
            empty,
            made: 1,
            closed: false,
        }
    }

    fn ship(&mut self) {
        if self.closed {
            // Nobody will read them: drop the events rather than let the batch grow.
            self.current.clear();
            return;
        }
        if self.current.is_empty() {
            return;
        }
        let next = match self.empty.try_recv() {
            Ok(b) => b,
            Err(_) if self.made < POOL => {
                self.made += 1;
                Batch::new()
            }
            // Every batch is out: wait for the worker to hand one back.
            Err(_) => self.empty.recv().unwrap_or_else(|_| {
                self.closed = true;
                Batch::default()
            }),
        };
        let batch = std::mem::replace(&mut self.current, next);
        if self.full.send(batch).is_err() {
            self.closed = true;
        }
    }
}

impl EventSink for Shipper {
    fn event(&mut self, event: StreamEvent<'_>) {
        self.current.push(event);
        if self.current.is_full() {
            self.ship();
        }
    }

    fn packet_in_buffer(&mut self, packet: MqttBytes<'static>, buf: &mut Vec<u8>) {
        // Small packets are cheaper copied into the arena than moved with their allocation.
        if buf.len() < OWN_FROM {
            self.current.push(StreamEvent::Packet(MqttBytes {
                bytes: buf.as_slice(),
                ..packet
            }));
        } else {
            self.current.push_owned(packet, buf);
        }
        if self.current.is_full() {
            self.ship();
        }
    }
}

/// Runs `produce` on the calling thread, handing it a sink whose events reach `sink` on a
/// second thread, in the order they were produced; returns what `produce` returned once `sink`
/// has received every event. `sink` is borrowed back afterwards (an analyzer is finished by
/// its owner as usual).
///
/// ```
/// use capture::relay::offload;
/// use dissector::input::{FrameSeen, Direction, StreamEvent, Timestamp};
///
/// let mut frames = Vec::new();
/// let mut sink = |e: StreamEvent<'_>| {
///     if let StreamEvent::Frame(f) = e {
///         frames.push(f.frame);
///     }
/// };
/// offload(&mut sink, |relay| {
///     for frame in 1..=3 {
///         relay.event(StreamEvent::Frame(FrameSeen {
///             stream: 0, dir: Direction::ToBroker, frame, ts: Timestamp(0),
///             wire_len: 60, tcp_payload_len: 0,
///         }));
///     }
/// });
/// assert_eq!(frames, [1, 2, 3]);
/// ```
pub fn offload<S, R>(sink: &mut S, produce: impl FnOnce(&mut dyn EventSink) -> R) -> R
where
    S: EventSink + Send + ?Sized,
{
    let (full_tx, full_rx) = sync_channel::<Batch>(DEPTH);
    let (empty_tx, empty_rx) = channel::<Batch>();
    std::thread::scope(|scope| {
        // The sink goes to the worker only once it runs, so it is still ours when it cannot.
        let (sink_tx, sink_rx) = sync_channel::<&mut S>(1);
        let worker = std::thread::Builder::new()
            .name("relay-consumer".into())
            .spawn_scoped(scope, move || {
                if let Ok(sink) = sink_rx.recv() {
                    consume(sink, full_rx, empty_tx);
                }
            });
        let worker = match worker {
            Ok(w) => w,
            // No second thread to be had: run the producer straight into the sink.
            Err(_) => return produce(&mut SinkRef(sink)),
        };
        if let Err(returned) = sink_tx.send(sink) {
            // The worker is gone before it started (cannot happen short of a panic there).
            return produce(&mut SinkRef(returned.0));
        }
        let mut shipper = Shipper::new(full_tx, empty_rx);
        let result = produce(&mut shipper);
        shipper.ship();
        // Dropping the sender ends the worker's loop once it has drained the queue.
        drop(shipper);
        if let Err(panic) = worker.join() {
            std::panic::resume_unwind(panic);
        }
        result
    })
}

/// The worker's loop: replays batches into `sink` until the producer hangs up.
fn consume<S: EventSink + ?Sized>(sink: &mut S, full: Receiver<Batch>, empty: Sender<Batch>) {
    while let Some(mut batch) = next_batch(&full) {
        batch.replay(&mut SinkRef(sink));
        if batch.bytes.capacity() > KEEP_CAPACITY {
            batch.bytes = Batch::new().bytes;
        }
        // The producer may have finished already; then the batch is simply dropped.
        let _ = empty.send(batch);
    }
}

/// How long the worker polls for the next batch before it sleeps. Waking a sleeping thread
/// costs the producer a system call and the other core an interrupt (on a virtual machine, an
/// exit to the hypervisor): measured at 4 % of the producer's time on the benchmark capture,
/// with a batch every quarter millisecond. A worker that keeps up waits less than that for
/// each batch, so it polls instead; a producer that pauses (a live capture, a slow disk) finds
/// it asleep after this long, having cost a little CPU.
const POLL_FOR: std::time::Duration = std::time::Duration::from_micros(400);

/// The next batch, or `None` once the producer has hung up and everything was received.
fn next_batch(full: &Receiver<Batch>) -> Option<Batch> {
    let mut started = None;
    loop {
        match full.try_recv() {
            Ok(batch) => return Some(batch),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {
                let since = *started.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() >= POLL_FOR {
                    return full.recv().ok();
                }
                std::hint::spin_loop();
            }
        }
    }
}

/// `&mut S` as a `dyn EventSink` for unsized `S`.
struct SinkRef<'s, S: EventSink + ?Sized>(&'s mut S);

impl<S: EventSink + ?Sized> EventSink for SinkRef<'_, S> {
    fn event(&mut self, event: StreamEvent<'_>) {
        self.0.event(event);
    }

    fn packet_in_buffer(&mut self, packet: MqttBytes<'static>, buf: &mut Vec<u8>) {
        self.0.packet_in_buffer(packet, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dissector::input::{
        CloseHow, ConnectionClosed, GapEvent, TransportIssue, TransportIssueKind,
    };

    /// Events as a test can compare them: packets with their bytes owned.
    fn owned(e: StreamEvent<'_>) -> (String, Vec<u8>) {
        match e {
            StreamEvent::Packet(p) => (
                format!("{:?}", MqttBytes { bytes: &[], ..p }),
                p.bytes.to_vec(),
            ),
            other => (format!("{other:?}"), Vec::new()),
        }
    }

    fn packet(frame: u64, bytes: &[u8]) -> StreamEvent<'_> {
        StreamEvent::Packet(packet_bytes(frame, bytes))
    }

    fn packet_bytes(frame: u64, bytes: &[u8]) -> MqttBytes<'_> {
        MqttBytes {
            stream: (frame % 3) as u32,
            dir: if frame.is_multiple_of(2) {
                Direction::ToBroker
            } else {
                Direction::ToClient
            },
            ts: Timestamp(frame as i64),
            first_frame: frame,
            frame,
            stream_offset: frame * 10,
            tcp_seq: Some(frame as u32 * 7),
            bytes,
            packet_len: bytes.len() as u64,
            truncated: false,
        }
    }

    /// A mixed sequence: many packets of varied sizes (some larger than a batch), gaps, issues
    /// and closes, so batches are cut by bytes and by event count.
    fn sequence(payloads: &[Vec<u8>]) -> Vec<StreamEvent<'_>> {
        let mut events = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            let frame = i as u64 + 1;
            events.push(packet(frame, p));
            if i.is_multiple_of(97) {
                events.push(StreamEvent::Gap(GapEvent {
                    stream: 1,
                    dir: Direction::ToClient,
                    ts: Timestamp(frame as i64),
                    frame,
                    missing: 5,
                    resync_skipped: 2,
                }));
                events.push(StreamEvent::Issue(TransportIssue {
                    stream: None,
                    dir: None,
                    ts: Timestamp(frame as i64),
                    frame,
                    kind: TransportIssueKind::NotMqtt,
                    detail: format!("detail {i}"),
                }));
            }
        }
        events.push(StreamEvent::Closed(ConnectionClosed {
            stream: 0,
            ts: Timestamp(9),
            frame: 9,
            how: CloseHow::Fin,
            by: Some(Direction::ToBroker),
        }));
        events
    }

    #[test]
    fn every_event_arrives_in_order_with_its_bytes() {
        let payloads: Vec<Vec<u8>> = (0..20_000usize)
            .map(|i| {
                let len = match i % 1000 {
                    0 => BATCH_BYTES * 2 + 3,        // larger than a whole batch
                    n if n % 7 == 0 => OWN_FROM + n, // large enough to travel in its buffer
                    n => n % 300,
                };
                (0..len).map(|b| (b ^ i) as u8).collect()
            })
            .collect();
        let want: Vec<_> = sequence(&payloads).into_iter().map(owned).collect();
        let mut got = Vec::new();
        let mut sink = |e: StreamEvent<'_>| got.push(owned(e));
        let mut handed_over = 0usize;
        let produced = offload(&mut sink, |relay| {
            // The producer's assembly buffer, as the framer keeps one per direction.
            let mut assembly: Vec<u8> = Vec::new();
            for (i, e) in sequence(&payloads).into_iter().enumerate() {
                match e {
                    // Every other packet comes assembled in the producer's buffer.
                    StreamEvent::Packet(p) if i % 2 == 0 => {
                        assembly.clear();
                        assembly.extend_from_slice(p.bytes);
                        let before = assembly.as_ptr();
                        relay.packet_in_buffer(MqttBytes { bytes: &[], ..p }, &mut assembly);
                        if assembly.as_ptr() != before {
                            handed_over += 1;
                        }
                    }
                    other => relay.event(other),
                }
            }
            "done"
        });
        assert_eq!(produced, "done");
        assert_eq!(got.len(), want.len());
        assert!(got == want, "events differ after the relay");
        assert!(handed_over > 0, "no buffer was taken instead of copied");
    }

    #[test]
    fn nothing_produced_means_nothing_received() {
        let mut count = 0usize;
        let mut sink = |_: StreamEvent<'_>| count += 1;
        offload(&mut sink, |_| ());
        assert_eq!(count, 0);
    }

    #[test]
    fn buffers_going_back_to_the_producer_are_bounded_in_bytes() {
        let mut batch = Batch::new();
        for frame in 0..40 {
            // 3 MiB packets, as a capture of firmware images might carry.
            let mut buf = vec![0x30u8; 3 << 20];
            batch.push_owned(packet_bytes(frame, &[]), &mut buf);
        }
        let mut seen = 0usize;
        batch.replay(&mut |_: StreamEvent<'_>| seen += 1);
        assert_eq!(seen, 40);
        let parked: usize = batch.spares.iter().map(Vec::capacity).sum();
        assert!(parked <= MAX_SPARE_BYTES, "{parked} bytes parked");
        assert!(!batch.spares.is_empty());
    }

    #[test]
    fn events_for_a_vanished_consumer_are_dropped_not_hoarded() {
        let (full_tx, full_rx) = sync_channel::<Batch>(DEPTH);
        let (_empty_tx, empty_rx) = channel::<Batch>();
        drop(full_rx); // the consumer is gone
        let mut shipper = Shipper::new(full_tx, empty_rx);
        let payload = vec![0x30u8; 1000];
        for frame in 0..10_000 {
            shipper.event(packet(frame, &payload));
        }
        assert!(shipper.closed);
        assert!(shipper.current.bytes.len() <= BATCH_BYTES);
        assert!(shipper.current.items.len() <= BATCH_EVENTS);
    }

    #[test]
    #[should_panic(expected = "consumer failed")]
    fn a_panicking_consumer_is_reported_not_hung() {
        let mut seen = 0usize;
        let mut sink = |_: StreamEvent<'_>| {
            seen += 1;
            if seen == 10 {
                panic!("consumer failed");
            }
        };
        let payloads: Vec<Vec<u8>> = (0..100_000).map(|_| vec![0x30; 64]).collect();
        offload(&mut sink, |relay| {
            for e in sequence(&payloads) {
                relay.event(e);
            }
        });
    }
}
