import uuid

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from sync.entities import MES_ENTITIES, SYNC_ENTITIES
from sync.services import sync_items
from tenants import services
from tenants.authentication import ApiKeyAuthentication
from tenants.caller import Caller
from tenants.models import ApiKey, Company, User
from tenants.roles import Role

DEMO_COMPANY = "Demo Factory"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "ractory-demo-2026"
DEMO_KEY_DESCRIPTION = "demo integration key"
DEMO_KEY_ENV_NAME = "DEMO_API_KEY"


def _remembered_demo_key() -> str | None:
    """The demo key kept in the git-ignored .env by an earlier run (development only)."""
    if not settings.DEBUG or not settings.DEV_ENV_FILE.exists():
        return None
    remembered = None
    for line in settings.DEV_ENV_FILE.read_text().splitlines():
        name, _, value = line.partition("=")
        if name.strip() == DEMO_KEY_ENV_NAME and value.strip():
            remembered = value.strip()  # the last one written wins
    return remembered


# Fixed guids, so running again finds the same rows (reported unchanged) instead of adding more.
_DEMO_NAMESPACE = uuid.UUID("6f1d3c2a-9b8e-4d7f-a6c5-0e1f2a3b4c5d")


def _demo_guid(name: str) -> str:
    return str(uuid.uuid5(_DEMO_NAMESPACE, name))


def demo_tree(company_guid: str) -> list[tuple[str, list[dict]]]:
    """A small project tree: one project, one window component, one assembly, pieces, an article."""
    project, component, assembly = _demo_guid("project"), _demo_guid("component"), _demo_guid("assembly")
    parents = {"company_guid": company_guid, "project_guid": project, "component_guid": component}
    return [
        (
            "projects",
            [{"guid": project, "company_guid": company_guid, "code": "DEMO-001", "company_name": "Demo customer"}],
        ),
        (
            "components",
            [
                {
                    "guid": component,
                    "company_guid": company_guid,
                    "project_guid": project,
                    "code": "W-01",
                    "designation": "Two-sash window 1200 x 1400",
                    "quantity": 2,
                }
            ],
        ),
        ("assemblies", [{"guid": assembly, **parents, "trolley": "T01", "trolley_cell": "A1", "cell_number": 1}]),
        (
            "pieces",
            [
                {
                    "guid": _demo_guid(f"piece-{number}"),
                    **parents,
                    "assembly_guid": assembly,
                    "piece_id": f"DEMO-PC-{number:03d}",
                    "barcode": f"400000{number:03d}",
                    "outer_length": length,
                    "profile_code": "RA-70",
                    "angle_left": 45,
                    "angle_right": 45,
                }
                for number, length in enumerate((1200, 1200, 1400, 1400), start=1)
            ],
        ),
        (
            "articles",
            [
                {
                    "guid": _demo_guid("article"),
                    **parents,
                    "code": "HW-TILT",
                    "designation": "Tilt-turn hardware",
                    "quantity": 2.0,
                    "unit": "pcs",
                }
            ],
        ),
    ]


def demo_mes() -> list[tuple[str, list[dict]]]:
    """Eryxon MES data: two work centres, a machine, and one job with a part routed through both."""
    source = {"external_source": "DEMO-ERP"}
    return [
        (
            "cells",
            [
                {**source, "external_id": "WC-CUT", "name": "Cutting", "color": "#3b82f6", "sequence": 1},
                {**source, "external_id": "WC-WELD", "name": "Welding", "color": "#f59e0b", "sequence": 2},
            ],
        ),
        (
            "resources",
            [{**source, "external_id": "RES-SAW-1", "name": "Double mitre saw", "type": "equipment"}],
        ),
        (
            "jobs",
            [
                {
                    **source,
                    "external_id": "SO-DEMO-1",
                    "job_number": "JOB-DEMO-1",
                    "customer": "Demo customer",
                    "parts": [
                        {
                            "external_id": "SO-DEMO-1-10",
                            "part_number": "FRAME-1200",
                            "quantity": 2,
                            "operations": [
                                {
                                    "external_id": "SO-DEMO-1-10-010",
                                    "operation_name": "Cut",
                                    "cell_name": "Cutting",
                                    "sequence": 1,
                                },
                                {
                                    "external_id": "SO-DEMO-1-10-020",
                                    "operation_name": "Weld",
                                    "cell_name": "Welding",
                                    "sequence": 2,
                                },
                            ],
                        }
                    ],
                }
            ],
        ),
    ]


def _still_valid(raw_key: str) -> bool:
    try:
        ApiKeyAuthentication().verify(raw_key, record_use=False)
    except Exception:  # noqa: BLE001 - any refusal means "make a new one"
        return False
    return True


class Command(BaseCommand):
    help = (
        "Create the demo tenant if missing: company 'Demo Factory', CompanyAdmin demo@example.com, "
        "a sync:read,sync:write API key, a small project tree and a little MES data (cells, a resource, "
        "a job with its part and operations). Safe to run again. "
        "Prints the key alone on the last line."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            company = Company.objects.filter(name__iexact=DEMO_COMPANY).first()
            if company is None:
                company = services.create_company(name=DEMO_COMPANY, short_name="DEMO")
                self.stderr.write(f"Created company {DEMO_COMPANY!r}.")
            if not User.objects.by_email(DEMO_EMAIL).exists():
                services.create_user(
                    company=company,
                    email=DEMO_EMAIL,
                    password=DEMO_PASSWORD,
                    role=Role.COMPANY_ADMIN,
                    name="Demo",
                    surname="Admin",
                )
                self.stderr.write(f"Created CompanyAdmin {DEMO_EMAIL}.")
            raw_key = _remembered_demo_key()
            if raw_key is not None and not _still_valid(raw_key):
                raw_key = None
            demo_keys = ApiKey.objects.for_company(company).filter(description=DEMO_KEY_DESCRIPTION, is_active=True)
            # In development the key is remembered in .env, so a key is made whenever none is
            # remembered; in production only on the first run (its secret cannot be shown again).
            if raw_key is None and (settings.DEBUG or not demo_keys.exists()):
                created = services.create_api_key(
                    company=company, scopes=["sync:read", "sync:write"], description=DEMO_KEY_DESCRIPTION
                )
                raw_key = created.raw_key
                self.stderr.write(f"Created API key {created.api_key.prefix}.")
                if settings.DEBUG:
                    with settings.DEV_ENV_FILE.open("a") as env_file:
                        env_file.write(f"{DEMO_KEY_ENV_NAME}={raw_key}\n")
            # Through the same sync service the API uses: valid by construction, idempotent.
            caller = Caller(company=company, role=Role.INTEGRATION)
            batches = [(SYNC_ENTITIES[plural], items) for plural, items in demo_tree(str(company.guid))]
            batches += [(MES_ENTITIES[plural], items) for plural, items in demo_mes()]
            for entity, items in batches:
                outcome = sync_items(entity=entity, caller=caller, items=items)
                if outcome.count("inserted"):
                    self.stderr.write(f"Synced {outcome.count('inserted')} demo {entity.plural}.")
        self.stderr.write(f"Demo company guid: {company.guid}")
        self.stderr.write(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
        if raw_key is None:
            self.stderr.write(
                "The demo API key exists already; its secret is not stored. Create another with create_api_key."
            )
            return
        self.stdout.write(raw_key)
