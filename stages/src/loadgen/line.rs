use crate::matching::Request;

/// Appends `request` as one protocol request line, `\n` terminated, prices as strings.
///
/// Written directly like the server's responses: symbols never need escaping.
pub(crate) fn encode_request(request: &Request, out: &mut Vec<u8>) {
    let mut numbers = itoa::Buffer::new();
    let mut number = |out: &mut Vec<u8>, value: u64| {
        out.extend_from_slice(numbers.format(value).as_bytes());
    };
    match *request {
        Request::Limit {
            id,
            symbol,
            side,
            price,
            qty,
            tif,
        } => {
            out.extend_from_slice(br#"{"op":"limit","id":"#);
            number(out, id);
            out.extend_from_slice(br#","symbol":""#);
            out.extend_from_slice(symbol.as_str().as_bytes());
            out.extend_from_slice(br#"","side":""#);
            out.extend_from_slice(side.as_str().as_bytes());
            out.extend_from_slice(br#"","price":""#);
            out.extend_from_slice(price.text().as_bytes());
            out.extend_from_slice(br#"","qty":"#);
            number(out, qty);
            out.extend_from_slice(br#","tif":""#);
            out.extend_from_slice(tif.as_str().as_bytes());
            out.extend_from_slice(b"\"}\n");
        }
        Request::Market {
            id,
            symbol,
            side,
            qty,
        } => {
            out.extend_from_slice(br#"{"op":"market","id":"#);
            number(out, id);
            out.extend_from_slice(br#","symbol":""#);
            out.extend_from_slice(symbol.as_str().as_bytes());
            out.extend_from_slice(br#"","side":""#);
            out.extend_from_slice(side.as_str().as_bytes());
            out.extend_from_slice(br#"","qty":"#);
            number(out, qty);
            out.extend_from_slice(b"}\n");
        }
        Request::Cancel { id, symbol } => {
            out.extend_from_slice(br#"{"op":"cancel","id":"#);
            number(out, id);
            out.extend_from_slice(br#","symbol":""#);
            out.extend_from_slice(symbol.as_str().as_bytes());
            out.extend_from_slice(b"\"}\n");
        }
        Request::Ping => out.extend_from_slice(b"{\"op\":\"ping\"}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_request;
    use crate::loadgen::mix::{MixParams, OrderMix};
    use crate::loadgen::resting::RestingSet;
    use crate::matching::{Price, Side, Symbol, Tif};

    #[test]
    fn exact_text() {
        let mut out = Vec::new();
        encode_request(
            &Request::Limit {
                id: 7,
                symbol: Symbol::new("SYM1").unwrap(),
                side: Side::Sell,
                price: Price::parse("100.10").unwrap(),
                qty: 3,
                tif: Tif::Ioc,
            },
            &mut out,
        );
        assert_eq!(
            out,
            b"{\"op\":\"limit\",\"id\":7,\"symbol\":\"SYM1\",\"side\":\"sell\",\"price\":\"100.1\",\"qty\":3,\"tif\":\"ioc\"}\n"
        );
    }

    #[test]
    fn every_generated_request_decodes_to_itself() {
        let mut mix = OrderMix::new(MixParams {
            seed: 5,
            symbols: 3,
            connections: 2,
            connection: 1,
            cancel_pct: 30,
            market_pct: 20,
            id_base: 1 << 60,
        });
        let mut resting = RestingSet::default();
        let mut requests = vec![Request::Ping];
        for id in 1..50 {
            resting.insert(id, 0, mix.rng());
        }
        requests.extend((0..500).map(|_| mix.next(&mut resting).request));
        for request in requests {
            let mut out = Vec::new();
            encode_request(&request, &mut out);
            let line = out.strip_suffix(b"\n").unwrap();
            assert_eq!(decode_request(line), Ok(request));
        }
    }
}
