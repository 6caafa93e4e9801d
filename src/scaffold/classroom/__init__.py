"""Courses: one repository per student, fixes pushed mid-course, and the class at a glance.

Built on the fleet (`scaffold.fleet`): `provision` writes the class's `fleet.csv`, so every
fleet command works on a class, and `push_fix` is `fleet.apply` with a step that keeps a
student's file whenever the template's change does not merge cleanly into it. Like the fleet
modules, these return one frozen result per student and never print.
"""
