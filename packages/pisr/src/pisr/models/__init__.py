"""PISR architectures: FSRCNN, the teacher encoder, the teacher, the student and its heads."""

from pisr.models.encoder import PISREncoder
from pisr.models.fsrcnn import FSRCNN, STAGE_NAMES
from pisr.models.student import PISRStudent, StudentOutput, init_student_from_teacher
from pisr.models.teacher import PISRTeacher, TeacherOutput
from pisr.models.variance_head import VARIANCE_MODES, VarianceHead

__all__ = [
    "FSRCNN",
    "PISREncoder",
    "PISRStudent",
    "PISRTeacher",
    "STAGE_NAMES",
    "StudentOutput",
    "TeacherOutput",
    "VARIANCE_MODES",
    "VarianceHead",
    "init_student_from_teacher",
]
