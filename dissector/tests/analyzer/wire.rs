//! Hand-written MQTT packets for the analyzer tests, field by field, so each test shows the bytes
//! it feeds (and does not depend on the encoder it might otherwise share a bug with).

/// A packet: first byte, minimal remaining length, body.
pub fn pkt(first_byte: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first_byte];
    let mut len = body.len();
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        out.push(b);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

/// A length-prefixed string.
pub fn s(text: &[u8]) -> Vec<u8> {
    let mut out = (text.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(text);
    out
}

/// An MQTT 5 property block: variable-byte length, then the properties' bytes.
pub fn props(bytes: &[u8]) -> Vec<u8> {
    // Blocks in these tests stay under 128 bytes.
    assert!(bytes.len() < 128);
    let mut out = vec![bytes.len() as u8];
    out.extend_from_slice(bytes);
    out
}

/// CONNECT: protocol level (3 → "MQIsdp", else "MQTT"), flags, keep alive, properties (v5),
/// client id, then `rest` (will / user name / password fields, already encoded).
pub fn connect_full(
    level: u8,
    flags: u8,
    keep_alive: u16,
    properties: Option<&[u8]>,
    client_id: &str,
    rest: &[u8],
) -> Vec<u8> {
    let name: &[u8] = if level == 3 { b"MQIsdp" } else { b"MQTT" };
    let mut body = s(name);
    body.push(level);
    body.push(flags);
    body.extend_from_slice(&keep_alive.to_be_bytes());
    if level == 5 {
        body.extend(props(properties.unwrap_or(&[])));
    }
    body.extend(s(client_id.as_bytes()));
    body.extend_from_slice(rest);
    pkt(0x10, &body)
}

/// CONNECT with clean start, no will, no credentials.
pub fn connect(level: u8, client_id: &str, keep_alive: u16) -> Vec<u8> {
    connect_full(level, 0x02, keep_alive, None, client_id, &[])
}

/// CONNACK 3.x: session present, return code.
pub fn connack(session_present: bool, code: u8) -> Vec<u8> {
    pkt(0x20, &[u8::from(session_present), code])
}

/// CONNACK 5.0 with properties.
pub fn connack5(session_present: bool, code: u8, properties: &[u8]) -> Vec<u8> {
    let mut body = vec![u8::from(session_present), code];
    body.extend(props(properties));
    pkt(0x20, &body)
}

/// PUBLISH 3.x.
pub fn publish(
    qos: u8,
    dup: bool,
    retain: bool,
    topic: &[u8],
    packet_id: Option<u16>,
    payload: &[u8],
) -> Vec<u8> {
    let first = 0x30 | (u8::from(dup) << 3) | (qos << 1) | u8::from(retain);
    let mut body = s(topic);
    if let Some(id) = packet_id {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    pkt(first, &body)
}

/// PUBLISH 5.0 with properties.
pub fn publish5(
    qos: u8,
    retain: bool,
    topic: &[u8],
    packet_id: Option<u16>,
    properties: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let first = 0x30 | (qos << 1) | u8::from(retain);
    let mut body = s(topic);
    if let Some(id) = packet_id {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend(props(properties));
    body.extend_from_slice(payload);
    pkt(first, &body)
}

/// PUBACK / PUBREC / PUBCOMP (short form).
pub fn ack(type_id: u8, packet_id: u16) -> Vec<u8> {
    let flags = if type_id == 6 { 0x02 } else { 0x00 };
    pkt((type_id << 4) | flags, &packet_id.to_be_bytes())
}

/// PUBACK-like 5.0 with a reason code (no properties).
pub fn ack5(type_id: u8, packet_id: u16, reason: u8) -> Vec<u8> {
    let flags = if type_id == 6 { 0x02 } else { 0x00 };
    let mut body = packet_id.to_be_bytes().to_vec();
    body.push(reason);
    pkt((type_id << 4) | flags, &body)
}

/// SUBSCRIBE (3.x layout unless `v5`).
pub fn subscribe(packet_id: u16, filters: &[(&str, u8)], v5: bool) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    if v5 {
        body.push(0);
    }
    for (f, q) in filters {
        body.extend(s(f.as_bytes()));
        body.push(*q);
    }
    pkt(0x82, &body)
}

/// SUBACK (3.x layout unless `v5`).
pub fn suback(packet_id: u16, codes: &[u8], v5: bool) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    if v5 {
        body.push(0);
    }
    body.extend_from_slice(codes);
    pkt(0x90, &body)
}

/// UNSUBSCRIBE 3.x.
pub fn unsubscribe(packet_id: u16, filters: &[&str]) -> Vec<u8> {
    let mut body = packet_id.to_be_bytes().to_vec();
    for f in filters {
        body.extend(s(f.as_bytes()));
    }
    pkt(0xa2, &body)
}

/// UNSUBACK 3.x.
pub fn unsuback(packet_id: u16) -> Vec<u8> {
    pkt(0xb0, &packet_id.to_be_bytes())
}

/// PINGREQ.
pub const PINGREQ: [u8; 2] = [0xc0, 0x00];
/// PINGRESP.
pub const PINGRESP: [u8; 2] = [0xd0, 0x00];
/// DISCONNECT (3.x, or 5.0 normal disconnection).
pub const DISCONNECT: [u8; 2] = [0xe0, 0x00];

/// Property bytes: id then a one-byte value.
pub fn p_byte(id: u8, v: u8) -> Vec<u8> {
    vec![id, v]
}
/// Property bytes: id then a two-byte value.
pub fn p_u16(id: u8, v: u16) -> Vec<u8> {
    let mut out = vec![id];
    out.extend_from_slice(&v.to_be_bytes());
    out
}
/// Property bytes: id then a four-byte value.
pub fn p_u32(id: u8, v: u32) -> Vec<u8> {
    let mut out = vec![id];
    out.extend_from_slice(&v.to_be_bytes());
    out
}
