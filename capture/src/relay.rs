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
//! grows to fit it; the pipeline's payload limit bounds that).

use std::ops::Range;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

use dissector::input::{EventSink, MqttBytes, StreamEvent};

/// A batch is sent once its byte arena holds this much.
pub const BATCH_BYTES: usize = 1 << 20;
/// … or once it holds this many events (frames without MQTT bytes are events too).
pub const BATCH_EVENTS: usize = 8192;
/// Batches queued between the two threads at most (the producer blocks beyond).
pub const DEPTH: usize = 4;
/// A recycled batch whose arena grew past this (one huge packet) gets a fresh arena.
const KEEP_CAPACITY: usize = 4 * BATCH_BYTES;
/// Batches in existence at most: the queue, one being replayed, one being filled. Reusing
/// them keeps allocation (and the page faults of fresh memory) out of the loop.
const POOL: usize = DEPTH + 2;

/// Events of a batch and the bytes their packets borrow.
#[derive(Default)]
struct Batch {
    /// Packet bytes, back to back.
    bytes: Vec<u8>,
    /// Each event, with the range of `bytes` its packet borrowed (empty for other events,
    /// whose `MqttBytes::bytes` are left empty in the stored copy).
    events: Vec<(StreamEvent<'static>, Range<usize>)>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            // Room for a full batch plus the packet that fills it.
            bytes: Vec::with_capacity(BATCH_BYTES + (64 << 10)),
            events: Vec::with_capacity(BATCH_EVENTS),
        }
    }

    fn push(&mut self, event: StreamEvent<'_>) {
        let stored = match event {
            StreamEvent::Packet(p) => {
                let start = self.bytes.len();
                self.bytes.extend_from_slice(p.bytes);
                let range = start..self.bytes.len();
                (StreamEvent::Packet(with_bytes(&p, &[])), range)
            }
            StreamEvent::Opened(o) => (StreamEvent::Opened(o), 0..0),
            StreamEvent::Frame(f) => (StreamEvent::Frame(f), 0..0),
            StreamEvent::Gap(g) => (StreamEvent::Gap(g), 0..0),
            StreamEvent::Issue(i) => (StreamEvent::Issue(i), 0..0),
            StreamEvent::Tls(t) => (StreamEvent::Tls(t), 0..0),
            StreamEvent::Closed(c) => (StreamEvent::Closed(c), 0..0),
        };
        self.events.push(stored);
    }

    fn is_full(&self) -> bool {
        self.bytes.len() >= BATCH_BYTES || self.events.len() >= BATCH_EVENTS
    }

    /// Hands every event to `sink`, in order, with its packet's bytes borrowed from the arena.
    fn replay(&mut self, sink: &mut dyn EventSink) {
        for (event, range) in self.events.drain(..) {
            match event {
                StreamEvent::Packet(p) => {
                    let bytes = self.bytes.get(range).unwrap_or_default();
                    sink.event(StreamEvent::Packet(with_bytes(&p, bytes)));
                }
                other => sink.event(other),
            }
        }
        self.bytes.clear();
    }
}

/// `p` with its bytes replaced by `bytes` (of another lifetime, which struct update syntax
/// cannot change).
fn with_bytes<'b>(p: &MqttBytes<'_>, bytes: &'b [u8]) -> MqttBytes<'b> {
    MqttBytes {
        stream: p.stream,
        dir: p.dir,
        ts: p.ts,
        first_frame: p.first_frame,
        frame: p.frame,
        stream_offset: p.stream_offset,
        bytes,
        packet_len: p.packet_len,
        truncated: p.truncated,
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
    fn ship(&mut self) {
        if self.current.events.is_empty() || self.closed {
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
        let mut shipper = Shipper {
            current: Batch::new(),
            full: full_tx,
            empty: empty_rx,
            made: 1,
            closed: false,
        };
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
    for mut batch in full {
        batch.replay(&mut SinkRef(sink));
        if batch.bytes.capacity() > KEEP_CAPACITY {
            batch.bytes = Batch::new().bytes;
        }
        // The producer may have finished already; then the batch is simply dropped.
        let _ = empty.send(batch);
    }
}

/// `&mut S` as a `dyn EventSink` for unsized `S`.
struct SinkRef<'s, S: EventSink + ?Sized>(&'s mut S);

impl<S: EventSink + ?Sized> EventSink for SinkRef<'_, S> {
    fn event(&mut self, event: StreamEvent<'_>) {
        self.0.event(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dissector::input::{
        CloseHow, ConnectionClosed, Direction, GapEvent, Timestamp, TransportIssue,
        TransportIssueKind,
    };

    /// Events as a test can compare them: packets with their bytes owned.
    fn owned(e: StreamEvent<'_>) -> (String, Vec<u8>) {
        match e {
            StreamEvent::Packet(p) => (format!("{:?}", with_bytes(&p, &[])), p.bytes.to_vec()),
            other => (format!("{other:?}"), Vec::new()),
        }
    }

    fn packet(frame: u64, bytes: &[u8]) -> StreamEvent<'_> {
        StreamEvent::Packet(MqttBytes {
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
            bytes,
            packet_len: bytes.len() as u64,
            truncated: false,
        })
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
                    0 => BATCH_BYTES * 2 + 3, // larger than a whole batch
                    n => n % 300,
                };
                (0..len).map(|b| (b ^ i) as u8).collect()
            })
            .collect();
        let want: Vec<_> = sequence(&payloads).into_iter().map(owned).collect();
        let mut got = Vec::new();
        let mut sink = |e: StreamEvent<'_>| got.push(owned(e));
        let produced = offload(&mut sink, |relay| {
            for e in sequence(&payloads) {
                relay.event(e);
            }
            "done"
        });
        assert_eq!(produced, "done");
        assert_eq!(got.len(), want.len());
        assert!(got == want, "events differ after the relay");
    }

    #[test]
    fn nothing_produced_means_nothing_received() {
        let mut count = 0usize;
        let mut sink = |_: StreamEvent<'_>| count += 1;
        offload(&mut sink, |_| ());
        assert_eq!(count, 0);
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
