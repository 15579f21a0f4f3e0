use super::*;

fn symbol() -> Symbol {
    Symbol::new("AB.C").unwrap()
}

fn limit(tif: Tif, stp: Stp) -> Request {
    Request::Limit {
        id: 7,
        symbol: symbol(),
        side: Side::Sell,
        price: Price::parse("12.5").unwrap(),
        qty: 3,
        tif,
        stp,
    }
}

fn market(stp: Stp) -> Request {
    Request::Market {
        id: 8,
        symbol: symbol(),
        side: Side::Buy,
        qty: 1,
        stp,
    }
}

fn amend(qty: Option<u64>, price: Option<&str>) -> Request {
    Request::Amend {
        id: 9,
        symbol: symbol(),
        qty,
        price: price.map(|p| Price::parse(p).unwrap()),
    }
}

fn written(req: &Request) -> Vec<u8> {
    let mut out = Vec::new();
    Writer(&mut out).request_fields(req);
    out
}

/// Every request kind that is ever written, with every optional part present and absent.
fn every_request() -> Vec<Request> {
    let mut reqs = vec![
        Request::Cancel {
            id: 9,
            symbol: symbol(),
        },
        amend(Some(5), None),
        amend(None, Some("0.0001")),
        amend(Some(1_000_000_000), Some("1000000000")),
        Request::CancelAll { symbol: None },
        Request::CancelAll {
            symbol: Some(symbol()),
        },
        Request::Orders { symbol: None },
        Request::Orders {
            symbol: Some(symbol()),
        },
    ];
    for stp in [
        Stp::None,
        Stp::CancelTaker,
        Stp::CancelMaker,
        Stp::CancelBoth,
    ] {
        reqs.push(market(stp));
        for tif in [Tif::Gtc, Tif::Ioc, Tif::Fok, Tif::Post] {
            reqs.push(limit(tif, stp));
        }
    }
    reqs
}

#[test]
fn requests_round_trip_and_truncation_is_named() {
    for req in every_request() {
        let tag = request_tag(&req).unwrap();
        let out = written(&req);
        let mut r = Reader::new(&out);
        assert_eq!(r.request_fields(tag), Ok(req), "{req:?}");
        assert_eq!(r.left(), 0);
        let cut = &out[..out.len() - 1];
        assert_eq!(
            Reader::new(cut).request_fields(tag),
            Err(FieldError::Truncated),
            "{req:?}"
        );
    }
    assert_eq!(request_tag(&Request::Ping), None);
    assert_eq!(request_tag(&Request::Login), None);
    assert!(written(&Request::Ping).is_empty());
}

#[test]
fn request_tags_are_fixed() {
    // Journals on disk and logs in flight hold these bytes.
    let tags = [
        (limit(Tif::Gtc, Stp::None), 1),
        (market(Stp::None), 2),
        (
            Request::Cancel {
                id: 1,
                symbol: symbol(),
            },
            3,
        ),
        (limit(Tif::Gtc, Stp::CancelBoth), 4),
        (market(Stp::CancelTaker), 5),
        (amend(Some(1), None), 6),
        (Request::CancelAll { symbol: None }, 7),
        (Request::Orders { symbol: None }, 8),
    ];
    for (req, tag) in tags {
        assert_eq!(request_tag(&req), Some(tag), "{req:?}");
    }
    assert_eq!(
        Reader::new(&[]).request_fields(9),
        Err(FieldError::Tag { what: "op", tag: 9 })
    );
}

#[test]
fn orders_without_stp_keep_the_first_layout() {
    // A limit order as format 1 wrote it: id, symbol, side, price, qty, tif, nothing after.
    let mut v1 = Vec::new();
    v1.extend_from_slice(&7u64.to_le_bytes());
    v1.extend_from_slice(&[4, b'A', b'B', b'.', b'C', 1]);
    v1.extend_from_slice(&125_000u64.to_le_bytes());
    v1.extend_from_slice(&3u64.to_le_bytes());
    v1.push(2);
    assert_eq!(written(&limit(Tif::Fok, Stp::None)), v1);
    assert_eq!(
        Reader::new(&v1).request_fields(1),
        Ok(limit(Tif::Fok, Stp::None))
    );
    // With an stp: the same, one byte more.
    let with = written(&limit(Tif::Fok, Stp::CancelMaker));
    assert_eq!(with[..v1.len()], v1[..]);
    assert_eq!(with[v1.len()..], [2]);
    let market_bytes = written(&market(Stp::None));
    assert_eq!(market_bytes.len(), 8 + 5 + 1 + 8);
}

#[test]
fn tif_and_stp_tags_are_fixed() {
    let mut out = Vec::new();
    for (tif, tag) in [(Tif::Gtc, 0), (Tif::Ioc, 1), (Tif::Fok, 2), (Tif::Post, 3)] {
        out.clear();
        Writer(&mut out).tif(tif);
        assert_eq!(out, [tag]);
        assert_eq!(Reader::new(&out).tif(), Ok(tif));
    }
    for (stp, tag) in [
        (Stp::None, 0),
        (Stp::CancelTaker, 1),
        (Stp::CancelMaker, 2),
        (Stp::CancelBoth, 3),
    ] {
        out.clear();
        Writer(&mut out).stp(stp);
        assert_eq!(out, [tag]);
        assert_eq!(Reader::new(&out).stp(), Ok(stp));
    }
    assert_eq!(
        Reader::new(&[4]).tif(),
        Err(FieldError::Tag {
            what: "tif",
            tag: 4
        })
    );
    assert_eq!(
        Reader::new(&[4]).stp(),
        Err(FieldError::Tag {
            what: "stp",
            tag: 4
        })
    );
}

#[test]
fn bad_bytes_are_named() {
    assert_eq!(
        Reader::new(&[2]).side(),
        Err(FieldError::Tag {
            what: "side",
            tag: 2
        })
    );
    assert_eq!(
        Reader::new(&[2, b'a', b'b']).symbol(),
        Err(FieldError::Symbol)
    );
    assert_eq!(Reader::new(&[]).symbol_or_all(), Err(FieldError::Truncated));
    // Tag 4 with stp none: a second spelling of tag 1, refused.
    let mut bytes = written(&limit(Tif::Gtc, Stp::None));
    bytes.push(0);
    assert_eq!(
        Reader::new(&bytes).request_fields(4),
        Err(FieldError::Tag {
            what: "stp",
            tag: 0
        })
    );
    // An amend whose price is out of range.
    let mut bytes = written(&amend(Some(1), None));
    let at = bytes.len() - 8;
    bytes[at..].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(
        Reader::new(&bytes).request_fields(6),
        Err(FieldError::Price)
    );
}
