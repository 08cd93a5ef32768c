//! Pure rules of `strata_storage_class`: the EBS CSI parameters a class carries, the
//! plan-time limits of each EBS volume type, and import IDs. No I/O.

use std::collections::BTreeMap;

/// The EBS CSI driver, the default provisioner.
pub const EBS_PROVISIONER: &str = "ebs.csi.aws.com";
/// The annotation that makes a class the cluster's default.
pub const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";
/// The CSI parameter naming the filesystem a volume is formatted with.
pub const FS_TYPE_PARAMETER: &str = "csi.storage.k8s.io/fstype";
/// The field manager of every write the provider makes to a cluster.
pub const FIELD_MANAGER: &str = "terraform-provider-strata";
/// The EBS volume type planned when `type` is left out (for the EBS provisioner).
pub const DEFAULT_VOLUME_TYPE: &str = "gp3";

/// gp3's included baseline and its provisioned ranges.
pub const GP3_IOPS: (i64, i64) = (3_000, 16_000);
pub const GP3_THROUGHPUT: (i64, i64) = (125, 1_000);
/// gp3: at most 500 IOPS per GiB of volume size.
pub const GP3_IOPS_PER_GIB: i64 = 500;
/// gp3: at most 0.25 MiB/s of throughput per provisioned IOPS (i.e. IOPS ≥ 4 × MiB/s).
pub const GP3_IOPS_PER_MIBPS: i64 = 4;
/// io1 and io2 provisioned IOPS ranges, and their IOPS-per-GiB ceilings.
pub const IO1_IOPS: (i64, i64) = (100, 64_000);
pub const IO2_IOPS: (i64, i64) = (100, 256_000);
pub const IO1_IOPS_PER_GIB: i64 = 50;
pub const IO2_IOPS_PER_GIB: i64 = 1_000;

/// The EBS volume types the `type` argument accepts.
pub const VOLUME_TYPES: [&str; 7] = ["gp3", "gp2", "io1", "io2", "st1", "sc1", "standard"];
/// Filesystems the EBS CSI driver formats volumes with.
pub const FS_TYPES: [&str; 4] = ["ext4", "xfs", "ext3", "ext2"];

/// A configured argument as the checks see it: left out, not known until apply, or set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg<T> {
    Unset,
    Unknown,
    Set(T),
}

impl<T: Copy> Arg<T> {
    fn get(self) -> Option<T> {
        match self {
            Arg::Set(v) => Some(v),
            _ => None,
        }
    }
}

/// The EBS arguments of a class as configured (or planned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EbsArgs<'a> {
    /// `Unknown` when the provisioner is not known yet.
    pub is_ebs: Arg<bool>,
    /// The volume type in force (the default already applied).
    pub volume_type: Arg<&'a str>,
    pub iops: Arg<i64>,
    pub throughput: Arg<i64>,
    pub encrypted: Arg<bool>,
    pub kms_key_id: Arg<&'a str>,
}

/// One plan-time problem, on the attribute it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub attribute: &'static str,
    pub summary: &'static str,
    pub detail: String,
}

fn problem(attribute: &'static str, summary: &'static str, detail: String) -> Problem {
    Problem {
        attribute,
        summary,
        detail,
    }
}

/// Everything about the EBS arguments that AWS would refuse when the CSI driver
/// provisions a volume, found before anything is made. Unknown values are not judged.
pub fn check_ebs(args: &EbsArgs) -> Vec<Problem> {
    let mut out = Vec::new();
    if args.is_ebs == Arg::Set(false) {
        let set = [
            ("iops", args.iops != Arg::Unset),
            ("throughput", args.throughput != Arg::Unset),
            ("encrypted", args.encrypted != Arg::Unset),
            ("kms_key_id", args.kms_key_id != Arg::Unset),
            ("type", args.volume_type != Arg::Unset),
        ];
        for (attribute, given) in set {
            if given {
                out.push(problem(
                    attribute,
                    "EBS parameter for another provisioner",
                    format!("{attribute} is an EBS parameter; it applies only with provisioner = \"{EBS_PROVISIONER}\"."),
                ));
            }
        }
        return out;
    }
    if let Arg::Set(volume_type) = args.volume_type {
        check_volume_type(volume_type, args, &mut out);
    }
    if args.kms_key_id != Arg::Unset && matches!(args.encrypted, Arg::Unset | Arg::Set(false)) {
        out.push(problem(
            "kms_key_id",
            "KMS key without encryption",
            "kms_key_id only takes effect on encrypted volumes; set encrypted = true as well."
                .into(),
        ));
    }
    out
}

fn range_problem(attribute: &'static str, what: &str, value: i64, (lo, hi): (i64, i64)) -> Problem {
    problem(
        attribute,
        "Value out of range",
        format!("{attribute} is {value}; {what} must be between {lo} and {hi}."),
    )
}

fn check_volume_type(volume_type: &str, args: &EbsArgs, out: &mut Vec<Problem>) {
    match volume_type {
        "gp3" => {
            if let Arg::Set(iops) = args.iops
                && !(GP3_IOPS.0..=GP3_IOPS.1).contains(&iops)
            {
                out.push(range_problem("iops", "gp3 IOPS", iops, GP3_IOPS));
            }
            if let Arg::Set(throughput) = args.throughput {
                if !(GP3_THROUGHPUT.0..=GP3_THROUGHPUT.1).contains(&throughput) {
                    out.push(range_problem(
                        "throughput",
                        "gp3 throughput (MiB/s)",
                        throughput,
                        GP3_THROUGHPUT,
                    ));
                } else {
                    let iops = match args.iops {
                        Arg::Unset => Some(GP3_IOPS.0),
                        other => other.get(),
                    };
                    if let Some(iops) = iops
                        && throughput * GP3_IOPS_PER_MIBPS > iops
                    {
                        out.push(problem(
                            "throughput",
                            "Throughput too high for the IOPS",
                            format!(
                                "throughput is {throughput} MiB/s but gp3 allows at most 0.25 MiB/s per provisioned IOPS, and iops is {iops}{}; raise iops to at least {} or lower throughput to at most {}.",
                                if args.iops == Arg::Unset { " (gp3's baseline)" } else { "" },
                                throughput * GP3_IOPS_PER_MIBPS,
                                iops / GP3_IOPS_PER_MIBPS,
                            ),
                        ));
                    }
                }
            }
        }
        "io1" | "io2" => {
            let range = if volume_type == "io1" {
                IO1_IOPS
            } else {
                IO2_IOPS
            };
            match args.iops {
                // On `type`: the argument written, where iops is missing.
                Arg::Unset => out.push(problem(
                    "type",
                    "Missing IOPS",
                    format!("{volume_type} volumes need provisioned IOPS; set iops (between {} and {}).", range.0, range.1),
                )),
                Arg::Set(iops) if !(range.0..=range.1).contains(&iops) => {
                    out.push(range_problem("iops", &format!("{volume_type} IOPS"), iops, range));
                }
                _ => {}
            }
            throughput_not_applicable(volume_type, args, out);
        }
        _ => {
            if args.iops != Arg::Unset {
                out.push(problem(
                    "iops",
                    "IOPS not applicable",
                    format!("{volume_type} volumes have no provisioned IOPS; iops applies to gp3, io1 and io2 only."),
                ));
            }
            throughput_not_applicable(volume_type, args, out);
        }
    }
}

fn throughput_not_applicable(volume_type: &str, args: &EbsArgs, out: &mut Vec<Problem>) {
    if args.throughput != Arg::Unset {
        out.push(problem(
            "throughput",
            "Throughput not applicable",
            format!("{volume_type} volumes have no provisioned throughput; throughput applies to gp3 only."),
        ));
    }
}

/// The note about volume size for provisioned IOPS: EBS caps IOPS per GiB, and the class
/// cannot know the sizes its claims will ask for. `None` when nothing needs saying.
pub fn iops_size_note(volume_type: &str, iops: i64) -> Option<String> {
    let per_gib = match volume_type {
        "gp3" => GP3_IOPS_PER_GIB,
        "io1" => IO1_IOPS_PER_GIB,
        "io2" => IO2_IOPS_PER_GIB,
        _ => return None,
    };
    // gp3's baseline 3,000 IOPS come with every size; only more needs a minimum size.
    if volume_type == "gp3" && iops <= GP3_IOPS.0 {
        return None;
    }
    let min_gib = (iops + per_gib - 1) / per_gib;
    Some(format!(
        "{volume_type} allows at most {per_gib} IOPS per GiB, so volumes of this class need at least {min_gib} GiB for {iops} IOPS. Claims for smaller volumes fail to provision (the EBS CSI driver reports the error on the PersistentVolumeClaim)."
    ))
}

/// The EBS arguments as StorageClass parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EbsParameters {
    pub volume_type: Option<String>,
    pub iops: Option<i64>,
    pub throughput: Option<i64>,
    pub encrypted: Option<bool>,
    pub kms_key_id: Option<String>,
    pub fs_type: Option<String>,
}

const TYPE: &str = "type";
const IOPS: &str = "iops";
const THROUGHPUT: &str = "throughput";
const ENCRYPTED: &str = "encrypted";
const KMS_KEY_ID: &str = "kmsKeyId";

impl EbsParameters {
    /// The `parameters` map of the StorageClass.
    pub fn to_parameters(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                out.insert(k.to_owned(), v);
            }
        };
        put(TYPE, self.volume_type.clone());
        put(IOPS, self.iops.map(|n| n.to_string()));
        put(THROUGHPUT, self.throughput.map(|n| n.to_string()));
        put(ENCRYPTED, self.encrypted.map(|b| b.to_string()));
        put(KMS_KEY_ID, self.kms_key_id.clone());
        put(FS_TYPE_PARAMETER, self.fs_type.clone());
        out
    }

    /// The arguments a class's parameters express. Values they cannot be (`iops: "lots"`)
    /// are left out here and stay visible in the full `parameters` map.
    pub fn from_parameters(params: &BTreeMap<String, String>) -> Self {
        let number = |k: &str| params.get(k).and_then(|v| v.trim().parse::<i64>().ok());
        EbsParameters {
            volume_type: params.get(TYPE).cloned(),
            iops: number(IOPS),
            throughput: number(THROUGHPUT),
            encrypted: params.get(ENCRYPTED).and_then(|v| match v.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }),
            kms_key_id: params.get(KMS_KEY_ID).cloned(),
            fs_type: params.get(FS_TYPE_PARAMETER).cloned(),
        }
    }
}

/// `cluster/name` → (EKS cluster name, StorageClass name).
pub fn parse_import_id(id: &str) -> Result<(&str, &str), String> {
    match id.split_once('/') {
        Some((cluster, name)) if !cluster.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((cluster, name))
        }
        _ => Err(format!(
            "the import ID {id:?} is not `CLUSTER/NAME` (an EKS cluster's name and the StorageClass's name, e.g. `knowledgebeast-west/weaviate-gp3`)"
        )),
    }
}

/// Why `name` is not a valid StorageClass name (a DNS-1123 subdomain), if it is not.
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 253 {
        return Some("it must be 1 to 253 characters long".into());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.split('.').all(label_ok) {
        None
    } else {
        Some("it must consist of lowercase letters, digits, '-' and '.', and start and end with a letter or digit".into())
    }
}
