//! A small hand-built trace for the logic modules' unit tests: two connections, five packets.

use dissector::codec::PacketType;
use dissector::input::{Direction, RoleSource, Timestamp, Transport};
use dissector::model::{Connection, PacketRecord, Trace};

fn connection(trace: &mut Trace, stream: u32, client: &str, client_id: &str) -> Connection {
    Connection {
        version: Some(dissector::codec::ProtocolVersion::V3_1_1),
        client_id: Some(trace.strings.intern(client_id)),
        keep_alive: Some(60),
        clean_start: Some(true),
        connack_code: Some(0),
        session_present: Some(false),
        ..Connection::new(
            stream,
            client
                .parse()
                .unwrap_or_else(|_| ([127, 0, 0, 1], 1).into()),
            ([10, 0, 0, 2], 1883).into(),
            Transport::Tcp,
            RoleSource::Handshake,
            Timestamp(1_000_000_000),
            1,
        )
    }
}

/// CONNECT, CONNACK, PUBLISH q1 (id 7, 10 B payload), PUBLISH q0 on connection 1, PUBACK.
pub fn sample_trace() -> Trace {
    let mut trace = Trace::new();
    let c0 = connection(&mut trace, 0, "10.0.0.1:50000", "dev-1");
    trace.push_connection(c0);
    let c1 = connection(&mut trace, 1, "10.0.0.3:50001", "dev-2");
    trace.push_connection(c1);
    let topic = trace.strings.intern("sensors/t1");
    let mut push = |first_byte: u8, conn: u32, dir: Direction, id: Option<u16>, payload: u32| {
        let n = trace.packets.len() as u64;
        let mut r = PacketRecord::new(
            Timestamp(1_000_000_000 + n as i64 * 1_000_000),
            n + 1,
            conn,
            dir,
            first_byte,
        );
        r.packet_id = id;
        r.fixed_len = 2;
        r.variable_len = if id.is_some() { 2 } else { 0 };
        r.payload_len = payload;
        if r.packet_type == PacketType::Publish {
            r.topic = Some(topic);
            r.variable_len += 12;
        }
        trace.packets.push(r);
    };
    push(0x10, 0, Direction::ToBroker, None, 13);
    push(0x20, 0, Direction::ToClient, None, 0);
    push(0x32, 0, Direction::ToBroker, Some(7), 10);
    push(0x30, 1, Direction::ToBroker, None, 3);
    push(0x40, 0, Direction::ToClient, Some(7), 0);
    trace
}
