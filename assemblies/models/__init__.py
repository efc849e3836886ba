from .article import ARTICLE_FLOAT_FIELDS, Article
from .assembly import Assembly
from .audit import AuditEvent
from .base import RactoryEntity
from .component import Component
from .piece import PIECE_INTEGER_FIELDS, PIECE_STRING_FIELDS, Piece
from .project import Project

__all__ = [
    "ARTICLE_FLOAT_FIELDS",
    "PIECE_INTEGER_FIELDS",
    "PIECE_STRING_FIELDS",
    "Article",
    "Assembly",
    "AuditEvent",
    "Component",
    "Piece",
    "Project",
    "RactoryEntity",
]
