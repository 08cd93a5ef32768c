//! The network engine against moto (an AWS emulator in server mode).
//!
//! Starts `$STRATA_MOTO_SERVER` (the path to moto's `moto_server`) on a free loopback
//! port and drives `strata::vpc::{create, read, update, delete}` through the real EC2 SDK
//! client that `AwsClients` builds (endpoint override, region, retries), checking what
//! moto holds after every step with plain EC2 calls. Skipped, with a message, when the
//! variable is unset.
//!
//! One `#[test]` on purpose: it owns the moto process (killed on drop, also on panic)
//! and sets the credential environment variables before any runtime thread exists.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Address, Filter, NatGateway, NatGatewayState, RouteTable, Subnet, Tag};
use terraform_provider_strata::aws::{AwsClients, AwsSettings, Endpoints};
use terraform_provider_strata::vpc::{
    self, AzSpec, NatMode, NetworkInput, NetworkSpec, NetworkState,
};

const REGION: &str = "us-west-2";

/// A moto server process, killed when dropped.
struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto() -> Option<Moto> {
    let Some(bin) = std::env::var_os("STRATA_MOTO_SERVER") else {
        eprintln!("skipping engine_moto: STRATA_MOTO_SERVER (path to moto_server) is not set");
        return None;
    };
    let bin = PathBuf::from(bin);
    assert!(
        bin.exists(),
        "STRATA_MOTO_SERVER={} does not exist",
        bin.display()
    );

    // Ask the OS for a free port, then hand it to moto (a tiny race, fine for tests).
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free loopback port")
        .port();
    let log_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("moto-{port}.log"));
    let log = std::fs::File::create(&log_path).expect("moto log file");
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
    let mut moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };

    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = moto.child.try_wait() {
            panic!(
                "moto_server exited with {status}; see {}",
                log_path.display()
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "moto_server did not listen on {port} within 60 s; see {}",
            log_path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("moto_server on {} (log: {})", moto.url, log_path.display());
    Some(moto)
}

#[test]
fn network_engine_against_moto() {
    let Some(moto) = start_moto() else {
        return;
    };
    // SAFETY: this binary's only test sets these before it starts the runtime; no other
    // thread of the process reads the environment concurrently.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::remove_var("AWS_SESSION_TOKEN");
        std::env::remove_var("AWS_PROFILE");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "terraform_provider_strata=info".into()),
        )
        .with_test_writer()
        .try_init();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let clients = AwsClients::new(AwsSettings {
            region: Some(REGION.into()),
            endpoints: Endpoints {
                ec2: Some(moto.url.clone()),
                ..Endpoints::default()
            },
            default_tags: BTreeMap::from([("env".into(), "test".into())]),
            // moto answers some unknown-ID calls with HTTP 500, which the SDK retries:
            // keep that short here.
            max_retries: 2,
            ..AwsSettings::default()
        })
        .await
        .expect("clients");
        let ec2 = clients.ec2(None);

        failed_create_leaves_a_deletable_partial_state(&ec2, &clients).await;
        lifecycle(&ec2, &clients).await;
    });
}

fn input(name: &str, azs: &[&str], tags: &[(&str, &str)]) -> NetworkInput {
    NetworkInput {
        name: Some(name.into()),
        cidr_block: Some("10.0.0.0/16".into()),
        availability_zones: Some(azs.iter().map(|s| s.to_string()).collect()),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..NetworkInput::default()
    }
}

fn build(input: &NetworkInput, clients: &AwsClients) -> NetworkSpec {
    vpc::build(input, REGION, clients.default_tags()).unwrap_or_else(|p| panic!("{p:?}"))
}

/// Create → read → update (add an AZ, retag, EKS tags) → update (single NAT, drop the
/// AZ it would live in) → update (re-CIDR the NAT's public subnet) → delete → nothing left.
async fn lifecycle(ec2: &Client, clients: &AwsClients) {
    let t = vpc::DEFAULT_TIMEOUTS;
    let azs = ["us-west-2c", "us-west-2a", "us-west-2b"];
    let spec = build(&input("west", &azs, &[("team", "data")]), clients);
    assert_eq!(spec.nat_mode, NatMode::OnePerAz);

    // ---- create ------------------------------------------------------------------------
    let mut state = NetworkState::default();
    vpc::create(ec2, &spec, &mut state, &t)
        .await
        .expect("create");
    let vpc_id = state.vpc_id.clone().expect("vpc id");
    assert!(state.internet_gateway_id.is_some() && state.public_route_table_id.is_some());
    assert_eq!(state.public_route_target, state.internet_gateway_id);
    assert_eq!(state.azs.len(), 3);
    for (az, a) in &state.azs {
        for (what, id) in [
            ("public subnet", &a.public_subnet_id),
            ("public association", &a.public_route_table_association_id),
            ("private subnet", &a.private_subnet_id),
            ("private route table", &a.private_route_table_id),
            ("private association", &a.private_route_table_association_id),
            ("nat gateway", &a.nat_gateway_id),
            ("elastic ip", &a.eip_allocation_id),
            ("public ip", &a.nat_public_ip),
        ] {
            assert!(id.is_some(), "{az}: no {what} in state");
        }
        assert_eq!(
            a.private_route_target, a.nat_gateway_id,
            "{az} routes via its own nat"
        );
    }

    // What moto holds: exactly the declared objects.
    assert_eq!(vpcs_named(ec2, "west").await, std::slice::from_ref(&vpc_id));
    let live_subnets = subnets(ec2, &vpc_id).await;
    assert_eq!(live_subnets.len(), 6);
    for s in &live_subnets {
        let az = s.availability_zone().unwrap();
        let cidr = s.cidr_block().unwrap();
        let tags = tags(s.tags());
        let a = &spec.azs[az];
        if tags["strata.dev/tier"] == "public" {
            assert_eq!(cidr, a.public_cidr.to_string());
            assert_eq!(tags["kubernetes.io/role/elb"], "1");
            assert_eq!(tags["Name"], format!("west-public-{az}"));
        } else {
            assert_eq!(cidr, a.private_cidr.to_string());
            assert_eq!(tags["kubernetes.io/role/internal-elb"], "1");
        }
        assert_eq!(tags["team"], "data");
        assert_eq!(tags["env"], "test", "default tags are applied");
    }
    assert_eq!(
        spec.azs["us-west-2a"],
        AzSpec {
            private_cidr: "10.0.0.0/20".parse().unwrap(),
            public_cidr: "10.0.128.0/20".parse().unwrap(),
        },
        "carving is documented as block i / 8 + i"
    );
    assert_eq!(
        igws_of(ec2, &vpc_id).await,
        [state.internet_gateway_id.clone().unwrap()]
    );
    let nats = live_nats(ec2, &vpc_id).await;
    assert_eq!(nats.len(), 3);
    assert!(
        nats.iter()
            .all(|n| n.state() == Some(&NatGatewayState::Available))
    );
    let eips = addresses_of(ec2, &vpc_id).await;
    assert_eq!(eips.len(), 3);
    let tables = route_tables(ec2, &vpc_id).await;
    assert_eq!(
        tables.len(),
        4,
        "one public + one private route table per AZ"
    );
    let public = table(&tables, state.public_route_table_id.as_deref().unwrap());
    assert_eq!(default_target(public), state.internet_gateway_id);
    assert_eq!(public.associations().len(), 3);
    for a in state.azs.values() {
        let private = table(&tables, a.private_route_table_id.as_deref().unwrap());
        assert_eq!(default_target(private), a.nat_gateway_id);
        assert_eq!(
            private.associations()[0].subnet_id(),
            a.private_subnet_id.as_deref()
        );
    }

    // ---- read --------------------------------------------------------------------------
    let (observed, read_state) = vpc::read(ec2, &vpc_id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        read_state, state,
        "read recovers every id from the vpc id alone"
    );
    assert_eq!(observed.name.as_deref(), Some("west"));
    assert_eq!(observed.cidr_block, spec.cidr_block);
    assert!(observed.enable_dns_support && observed.enable_dns_hostnames);
    assert_eq!(observed.nat_mode, Some(NatMode::OnePerAz));
    assert_eq!(
        observed.tags, spec.tags,
        "user + default tags, nothing structural"
    );
    for (az, a) in &spec.azs {
        assert_eq!(observed.azs[az].public_cidr, Some(a.public_cidr));
        assert_eq!(observed.azs[az].private_cidr, Some(a.private_cidr));
    }

    // EKS tags its VPC and subnets itself: never drift, never removed by updates.
    let eks_tag = Tag::builder()
        .key("kubernetes.io/cluster/west-eks")
        .value("shared")
        .build();
    let subnet_a = state.azs["us-west-2a"].private_subnet_id.clone().unwrap();
    ec2.create_tags()
        .resources(&vpc_id)
        .resources(&subnet_a)
        .tags(eks_tag)
        .send()
        .await
        .expect("eks tags");
    let (observed, _) = vpc::read(ec2, &vpc_id).await.unwrap().unwrap();
    assert_eq!(observed.tags, spec.tags, "eks tags are not drift");

    // ---- update: add an AZ and change a tag --------------------------------------------
    let azs4 = ["us-west-2c", "us-west-2a", "us-west-2b", "us-west-2d"];
    let spec4 = build(&input("west", &azs4, &[("team", "platform")]), clients);
    let before = state.clone();
    vpc::update(ec2, &spec, &spec4, &mut state, &t)
        .await
        .expect("update: add az");
    for az in azs {
        assert_eq!(
            state.azs[az], before.azs[az],
            "{az} untouched by adding us-west-2d"
        );
    }
    let d = &state.azs["us-west-2d"];
    assert!(d.public_subnet_id.is_some() && d.private_subnet_id.is_some());
    assert!(d.nat_gateway_id.is_some() && d.private_route_target == d.nat_gateway_id);
    assert_eq!(subnets(ec2, &vpc_id).await.len(), 8);
    assert_eq!(live_nats(ec2, &vpc_id).await.len(), 4);
    let vpc_tags = tags_of(ec2, &vpc_id).await;
    assert_eq!(vpc_tags["team"], "platform");
    let subnet_tags = tags_of(ec2, &subnet_a).await;
    assert_eq!(
        subnet_tags["team"], "platform",
        "every owned object is retagged"
    );
    assert_eq!(
        subnet_tags["kubernetes.io/cluster/west-eks"], "shared",
        "eks tag kept"
    );
    let (observed, read_state) = vpc::read(ec2, &vpc_id).await.unwrap().unwrap();
    assert_eq!(read_state, state);
    assert_eq!(observed.tags, spec4.tags);

    // ---- update: one shared NAT, and drop the AZ it would live in ----------------------
    let azs_bcd = ["us-west-2b", "us-west-2c", "us-west-2d"];
    let mut single = input("west", &azs_bcd, &[("team", "platform")]);
    single.nat_mode = Some("single".into());
    let spec_single = build(&single, clients);
    let before = state.clone();
    vpc::update(ec2, &spec4, &spec_single, &mut state, &t)
        .await
        .expect("update: single");
    assert!(
        !state.azs.contains_key("us-west-2a"),
        "removed AZ left state"
    );
    let nat_b = state.azs["us-west-2b"]
        .nat_gateway_id
        .clone()
        .expect("nat kept in b");
    assert_eq!(
        Some(&nat_b),
        before.azs["us-west-2b"].nat_gateway_id.as_ref()
    );
    for (az, a) in &state.azs {
        assert_eq!(
            a.private_route_target.as_ref(),
            Some(&nat_b),
            "{az} routes via b"
        );
        assert_eq!(
            a.public_subnet_id, before.azs[az].public_subnet_id,
            "{az} subnet kept"
        );
        if az != "us-west-2b" {
            assert!(
                a.nat_gateway_id.is_none() && a.eip_allocation_id.is_none(),
                "{az}"
            );
        }
    }
    assert_eq!(subnets(ec2, &vpc_id).await.len(), 6);
    assert_eq!(live_nats(ec2, &vpc_id).await.len(), 1);
    assert_eq!(
        addresses_of(ec2, &vpc_id).await.len(),
        1,
        "retired EIPs released"
    );
    assert_eq!(route_tables(ec2, &vpc_id).await.len(), 4);
    let (observed, read_state) = vpc::read(ec2, &vpc_id).await.unwrap().unwrap();
    assert_eq!(read_state, state);
    assert_eq!(observed.nat_mode, Some(NatMode::Single));

    // ---- update: re-cidr the public subnet hosting the NAT (new block overlaps old) ------
    let mut moved = single.clone();
    moved.public_subnet_cidrs = BTreeMap::from([("us-west-2b".into(), "10.0.144.0/21".into())]);
    let spec_moved = build(&moved, clients);
    let before = state.clone();
    vpc::update(ec2, &spec_single, &spec_moved, &mut state, &t)
        .await
        .expect("update: subnet cidr");
    let (b_before, b_after) = (&before.azs["us-west-2b"], &state.azs["us-west-2b"]);
    assert_ne!(
        b_after.public_subnet_id, b_before.public_subnet_id,
        "subnet replaced"
    );
    assert!(
        b_after.public_route_table_association_id.is_some(),
        "and re-associated"
    );
    assert_ne!(
        b_after.nat_gateway_id, b_before.nat_gateway_id,
        "nat re-created"
    );
    // AWS frees a deleted NAT gateway's address, so it is reused; moto keeps it
    // associated forever, so the engine swaps in a fresh one and releases the old.
    assert!(b_after.eip_allocation_id.is_some());
    assert_eq!(
        addresses_of(ec2, &vpc_id).await.len(),
        1,
        "no elastic ip leaked"
    );
    assert_eq!(b_after.private_subnet_id, b_before.private_subnet_id);
    for (az, a) in &state.azs {
        assert_eq!(
            a.private_route_target, b_after.nat_gateway_id,
            "{az} follows the nat"
        );
        if az != "us-west-2b" {
            assert_eq!(a.public_subnet_id, before.azs[az].public_subnet_id, "{az}");
        }
    }
    let (observed, read_state) = vpc::read(ec2, &vpc_id).await.unwrap().unwrap();
    assert_eq!(read_state, state);
    assert_eq!(
        observed.azs["us-west-2b"].public_cidr,
        Some("10.0.144.0/21".parse().unwrap())
    );
    assert_eq!(live_nats(ec2, &vpc_id).await.len(), 1);

    // ---- delete --------------------------------------------------------------------------
    vpc::delete(ec2, &state, &t).await.expect("delete");
    assert_nothing_left(ec2, &vpc_id, &state).await;
    assert!(
        vpc::read(ec2, &vpc_id).await.unwrap().is_none(),
        "read: gone → None"
    );
    vpc::delete(ec2, &state, &t)
        .await
        .expect("delete is idempotent");
}

/// A create that fails half-way (moto rejects the AZ `us-west-2z`) leaves every object it
/// made in state, and delete removes them all.
async fn failed_create_leaves_a_deletable_partial_state(ec2: &Client, clients: &AwsClients) {
    let mut spec = build(&input("partial", &["us-west-2a"], &[]), clients);
    spec.azs.insert(
        "us-west-2z".into(),
        AzSpec {
            public_cidr: "10.0.200.0/24".parse().unwrap(),
            private_cidr: "10.0.201.0/24".parse().unwrap(),
        },
    );
    let t = vpc::DEFAULT_TIMEOUTS;
    let mut state = NetworkState::default();
    let err = vpc::create(ec2, &spec, &mut state, &t)
        .await
        .expect_err("us-west-2z does not exist");
    let message = err.to_string();
    assert!(
        message.starts_with("failed to create public subnet 10.0.200.0/24 in us-west-2z")
            && message.contains("InvalidParameterValue"),
        "error names the object, operation and aws code: {message}"
    );
    let vpc_id = state.vpc_id.clone().expect("vpc saved before the failure");
    assert!(
        state.azs["us-west-2a"]
            .private_route_table_association_id
            .is_some()
    );
    assert_eq!(subnets(ec2, &vpc_id).await.len(), 2);

    vpc::delete(ec2, &state, &t)
        .await
        .expect("delete partial network");
    assert_nothing_left(ec2, &vpc_id, &state).await;
}

async fn assert_nothing_left(ec2: &Client, vpc_id: &str, state: &NetworkState) {
    let vpc = ec2.describe_vpcs().vpc_ids(vpc_id).send().await;
    let code = vpc
        .as_ref()
        .err()
        .and_then(|e| e.as_service_error())
        .map(|e| {
            use aws_sdk_ec2::error::ProvideErrorMetadata;
            e.code().unwrap_or_default().to_owned()
        });
    assert_eq!(
        code.as_deref(),
        Some("InvalidVpcID.NotFound"),
        "vpc gone: {vpc:?}"
    );
    assert!(subnets(ec2, vpc_id).await.is_empty());
    assert!(route_tables(ec2, vpc_id).await.is_empty());
    assert!(live_nats(ec2, vpc_id).await.is_empty());
    assert!(addresses_of(ec2, vpc_id).await.is_empty());
    if let Some(igw) = &state.internet_gateway_id {
        let found = ec2
            .describe_internet_gateways()
            .filters(filter("internet-gateway-id", igw))
            .send()
            .await
            .unwrap();
        assert!(found.internet_gateways().is_empty(), "igw {igw} deleted");
    }
}

// ---- plain EC2 views of moto ---------------------------------------------------------------

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn tags(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn tags_of(ec2: &Client, id: &str) -> BTreeMap<String, String> {
    let out = ec2
        .describe_tags()
        .filters(filter("resource-id", id))
        .send()
        .await
        .unwrap();
    out.tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn vpcs_named(ec2: &Client, name: &str) -> Vec<String> {
    let out = ec2
        .describe_vpcs()
        .filters(filter("tag:Name", name))
        .send()
        .await
        .unwrap();
    out.vpcs()
        .iter()
        .filter_map(|v| v.vpc_id().map(str::to_owned))
        .collect()
}

async fn subnets(ec2: &Client, vpc_id: &str) -> Vec<Subnet> {
    let out = ec2
        .describe_subnets()
        .filters(filter("vpc-id", vpc_id))
        .send()
        .await
        .unwrap();
    out.subnets().to_vec()
}

async fn igws_of(ec2: &Client, vpc_id: &str) -> Vec<String> {
    let out = ec2
        .describe_internet_gateways()
        .filters(filter("attachment.vpc-id", vpc_id))
        .send()
        .await
        .unwrap();
    out.internet_gateways()
        .iter()
        .filter_map(|g| g.internet_gateway_id().map(str::to_owned))
        .collect()
}

/// NAT gateways of the VPC that are not deleted (moto, like AWS, keeps listing deleted
/// ones for a while).
async fn live_nats(ec2: &Client, vpc_id: &str) -> Vec<NatGateway> {
    let out = ec2
        .describe_nat_gateways()
        .filter(filter("vpc-id", vpc_id))
        .send()
        .await
        .unwrap();
    out.nat_gateways()
        .iter()
        .filter(|n| n.state() != Some(&NatGatewayState::Deleted))
        .cloned()
        .collect()
}

async fn addresses_of(ec2: &Client, vpc_id: &str) -> Vec<Address> {
    let out = ec2
        .describe_addresses()
        .filters(filter("tag:strata.dev/vpc-id", vpc_id))
        .send()
        .await
        .unwrap();
    out.addresses().to_vec()
}

/// Route tables of the VPC other than its main one.
async fn route_tables(ec2: &Client, vpc_id: &str) -> Vec<RouteTable> {
    let out = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", vpc_id))
        .send()
        .await
        .unwrap();
    out.route_tables()
        .iter()
        .filter(|t| !t.associations().iter().any(|a| a.main() == Some(true)))
        .cloned()
        .collect()
}

fn table<'a>(tables: &'a [RouteTable], id: &str) -> &'a RouteTable {
    tables
        .iter()
        .find(|t| t.route_table_id() == Some(id))
        .unwrap_or_else(|| panic!("route table {id} not found"))
}

fn default_target(table: &RouteTable) -> Option<String> {
    let route = table
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))?;
    route
        .nat_gateway_id()
        .or(route.gateway_id())
        .map(str::to_owned)
}
