from .article import ARTICLE_FLOAT_FIELDS, Article
from .assembly import Assembly
from .audit import AuditEvent
from .base import RactoryEntity
from .cell import Cell, cell_name_key
from .component import Component
from .job import Job, JobStatus
from .mes_base import NOTES_MAX_LENGTH, MesEntity
from .operation import Operation, OperationStatus
from .part import Part
from .piece import PIECE_INTEGER_FIELDS, PIECE_STRING_FIELDS, Piece
from .project import Project
from .resource import Resource, ResourceStatus, ResourceType

__all__ = [
    "ARTICLE_FLOAT_FIELDS",
    "NOTES_MAX_LENGTH",
    "PIECE_INTEGER_FIELDS",
    "PIECE_STRING_FIELDS",
    "Article",
    "Assembly",
    "AuditEvent",
    "Cell",
    "Component",
    "Job",
    "JobStatus",
    "MesEntity",
    "Operation",
    "OperationStatus",
    "Part",
    "Piece",
    "Project",
    "RactoryEntity",
    "Resource",
    "ResourceStatus",
    "ResourceType",
    "cell_name_key",
]
